/**
 * Citations: every published figure the advisor uses (quality impact, model
 * benchmark, GPU datasheet value, price) carries one, so output can say where
 * each number comes from. Figures tenpak itself computes or assumes carry a
 * `kind` that says so instead of a URL.
 */

/** Where a number comes from. */
export interface Citation {
  /** 'published' (paper, model card, datasheet, price page), 'derived' (computed from other cited figures), 'assumption' (a documented tenpak default), 'measured' (tenpak measured it), 'config' (the caller supplied it) */
  kind: 'published' | 'derived' | 'assumption' | 'measured' | 'config'
  /** short title of the source */
  title: string
  /** URL of the source (published) or the doc section (assumption/derived) */
  url?: string
  /** what the source says, in a sentence, ideally quoting it */
  says?: string
  /** date the figure was read or is valid for (ISO, YYYY-MM or YYYY-MM-DD) */
  asOf?: string
}

/** A cited number. */
export interface CitedValue {
  value: number
  unit: string
  source: Citation
}

/** Shorthand for a published citation. */
export function published (title: string, url: string, says: string, asOf?: string): Citation {
  return { kind: 'published', title, url, says, ...(asOf != null ? { asOf } : {}) }
}

/** Shorthand for a documented tenpak assumption. */
export function assumption (title: string, says: string, url = 'docs/advisor.md'): Citation {
  return { kind: 'assumption', title, url, says }
}

/** Shorthand for a figure computed from other cited figures. */
export function derived (formula: string): Citation {
  return { kind: 'derived', title: formula, url: 'docs/advisor.md' }
}
