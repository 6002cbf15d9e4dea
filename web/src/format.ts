/** Number formatting shared by the pages. */

/** Bytes in binary units (KiB, MiB …), as the CLI prints them. */
export function fmtBytes (n: number | undefined): string {
  if (n == null || !Number.isFinite(n)) return '–'
  const neg = n < 0
  let v = Math.abs(n)
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let i = 0
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++ }
  return `${neg ? '−' : ''}${i === 0 ? v.toFixed(0) : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`
}

/** Exact integer with thousands separators. */
export function fmtInt (n: number | undefined): string {
  return n == null ? '–' : Math.round(n).toLocaleString('en-US')
}

/** Percent with one decimal. */
export function fmtPct (v: number | undefined, digits = 1): string {
  return v == null || !Number.isFinite(v) ? '–' : `${v.toFixed(digits)}%`
}

/** US dollars. */
export function fmtUsd (v: number | undefined): string {
  if (v == null || !Number.isFinite(v)) return '–'
  return v >= 100 ? `$${v.toFixed(0)}` : v >= 1 ? `$${v.toFixed(2)}` : `$${v.toPrecision(3)}`
}

/** Date and time, ISO-like and short. */
export function fmtTime (ms: number | undefined): string {
  if (ms == null) return '–'
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC'
}

/** The start of a long hash, for tables (the full value goes in a title). */
export function short (s: string | undefined, n = 12): string {
  if (s == null) return '–'
  return s.length > n + 1 ? `${s.slice(0, n)}…` : s
}
