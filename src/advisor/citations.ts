/**
 * Citations: every published figure the advisor uses (quality impact, model
 * benchmark, GPU datasheet value, price) carries one, so output can say where
 * each number comes from — and how far that was checked. Figures tenpak
 * itself computes or assumes carry a `kind` that says so instead of a URL.
 * The audit of every published figure (what was checked, against what, on
 * which date) is recorded in docs/advisor.md ("Citation audit").
 */

/** Date of the last audit of the built-in citations against stored public sources. */
export const CITATIONS_CHECKED_ON = '2026-11-26'

/** How a published figure was checked. */
export interface Verification {
  /**
   * 'primary': confirmed in the cited document itself or a verbatim copy of it
   * (e.g. the model card file in the publisher's repository, an arXiv abstract);
   * 'secondary': the cited document was not available, but independent copies
   * or third-party pages state the same figure;
   * 'unverified': no stored source confirmed it — treat the figure as unsourced.
   */
  status: 'primary' | 'secondary' | 'unverified'
  /** ISO date of the check */
  checkedOn: string
  /** what was found, and where */
  note: string
}

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
  /** published figures only: false when no stored source confirmed the figure (see `verification.note`) */
  verified?: boolean
  /** published figures only: how the figure was checked */
  verification?: Verification
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

/**
 * Attach the result of checking a published citation: `verified` is true for
 * 'primary' and 'secondary', false for 'unverified'.
 */
export function checked (citation: Citation, status: Verification['status'], note: string, checkedOn = CITATIONS_CHECKED_ON): Citation {
  return { ...citation, verified: status !== 'unverified', verification: { status, checkedOn, note } }
}

/** True when a citation is a published figure that no stored source confirmed. */
export function isUnverified (c: Citation): boolean {
  return c.kind === 'published' && c.verified === false
}

/** Shorthand for a documented tenpak assumption. */
export function assumption (title: string, says: string, url = 'docs/advisor.md'): Citation {
  return { kind: 'assumption', title, url, says }
}

/** Shorthand for a figure computed from other cited figures. */
export function derived (formula: string): Citation {
  return { kind: 'derived', title: formula, url: 'docs/advisor.md' }
}
