/**
 * Prompt difficulty estimate for routing. A transparent heuristic, not a
 * model: it scores length, reasoning vocabulary, code, mathematics and
 * multi-part structure, subtracts for trivially answerable forms (greetings,
 * short factual lookups, translations), and maps the score to a tier. Every
 * signal that fired is returned so callers can show why. The weights are
 * documented in docs/advisor.md ("Prompt difficulty").
 */

/** Difficulty tiers. */
export type DifficultyTier = 'trivial' | 'moderate' | 'hard'

/** What kind of task the prompt looks like; selects the benchmark compared. */
export type PromptCategory = 'general' | 'code' | 'math'

/** Result of {@link estimateDifficulty}. */
export interface DifficultyEstimate {
  /** 0 (trivial) … 1 (hard) */
  score: number
  tier: DifficultyTier
  category: PromptCategory
  /** prompt tokens, estimated as ceil(characters / 4) */
  estimatedTokens: number
  /** the rules that fired, with their contribution */
  signals: Array<{ rule: string, weight: number }>
}

/** Characters per token for English text (OpenAI's rule of thumb). */
export const CHARS_PER_TOKEN = 4

/** Tier boundaries on the score. */
export const DIFFICULTY_TIERS = { trivialBelow: 0.25, hardFrom: 0.55 } as const

const REASONING = ['prove', 'proof', 'derive', 'derivation', 'step by step', 'step-by-step', 'analyze', 'analyse', 'optimize', 'optimise', 'trade-off', 'tradeoff', 'algorithm', 'complexity', 'theorem', 'rigorous', 'architecture', 'design a', 'debug', 'refactor', 'explain why', 'compare', 'evaluate', 'critique', 'multi-step', 'edge case']
const MATH_WORDS = ['integral', 'derivative', 'equation', 'solve', 'matrix', 'probability', 'eigen', 'lemma', 'inequality', 'polynomial', 'modulo', 'big-o', 'o(n']
const CODE_WORDS = ['function', 'implement', 'class ', 'def ', 'typescript', 'python', 'rust', 'javascript', 'sql', 'regex', 'compile', 'stack trace', 'unit test']

/**
 * Estimate how hard a prompt is. Deterministic and cheap (linear in the
 * prompt length); see the module header for what it does and does not know.
 */
export function estimateDifficulty (prompt: string): DifficultyEstimate {
  const text = prompt.toLowerCase()
  const estimatedTokens = Math.ceil(prompt.length / CHARS_PER_TOKEN)
  const words = text.split(/\s+/).filter(w => w !== '').length
  const signals: Array<{ rule: string, weight: number }> = []
  const add = (rule: string, weight: number): void => { signals.push({ rule, weight }) }

  if (estimatedTokens > 2000) add('long prompt (> 2000 tokens)', 0.3)
  else if (estimatedTokens > 500) add('long prompt (> 500 tokens)', 0.15)
  else if (estimatedTokens > 150) add('medium prompt (> 150 tokens)', 0.05)

  const reasoningHits = REASONING.filter(k => text.includes(k))
  if (reasoningHits.length > 0) add(`reasoning vocabulary: ${reasoningHits.join(', ')}`, Math.min(0.45, 0.15 * reasoningHits.length))

  const codeFence = prompt.includes('```')
  const codeHits = CODE_WORDS.filter(k => text.includes(k))
  const codeSyntax = /[{};]\s*$|=>|\bfn\b|\breturn\b/m.test(prompt)
  const isCode = codeFence || codeHits.length >= 2 || (codeHits.length >= 1 && codeSyntax)
  if (isCode) add(`code (${codeFence ? 'fenced block' : codeHits.join(', ')})`, 0.2)

  const mathHits = MATH_WORDS.filter(k => text.includes(k))
  const mathSyntax = /\\(frac|int|sum|sqrt)|\$[^$]+\$|\d\s*[\^*/]\s*\d|[a-z]\s*\^\s*\d/.test(prompt)
  const isMath = mathHits.length > 0 || mathSyntax
  if (isMath) add(`mathematics (${mathHits.length > 0 ? mathHits.join(', ') : 'notation'})`, 0.2)

  const parts = (prompt.match(/^\s*(\d+[.)]|[-*])\s+/gm) ?? []).length + Math.max(0, (prompt.match(/\?/g) ?? []).length - 1)
  if (parts >= 3) add(`multi-part request (${parts} parts)`, 0.1)

  const trivialForm = /^\s*(hi|hello|hey|thanks|thank you)\b/.test(text) ||
    /\b(what is the capital of|translate|define|spell|what time|who is|what is \w+\?)/.test(text)
  if (trivialForm) add('trivially answerable form (greeting, lookup, translation, definition)', -0.2)
  else if (words <= 12 && signals.every(s => s.weight <= 0)) add('short prompt with no difficulty signal', -0.1)

  const raw = signals.reduce((s, x) => s + x.weight, 0)
  const score = Math.max(0, Math.min(1, Math.round(raw * 100) / 100))
  const tier: DifficultyTier = score < DIFFICULTY_TIERS.trivialBelow ? 'trivial' : score < DIFFICULTY_TIERS.hardFrom ? 'moderate' : 'hard'
  const category: PromptCategory = isCode ? 'code' : isMath ? 'math' : 'general'
  return { score, tier, category, estimatedTokens, signals }
}
