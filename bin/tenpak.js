#!/usr/bin/env node
// Entry point: the compiled CLI (npm install builds it through `prepare`).
import { main } from '../dist/cli/main.js'

main(process.argv).then(code => {
  process.exitCode = code
}, err => {
  process.stderr.write(`tenpak: ERR_INTERNAL: ${err?.message ?? err}\n`)
  process.exitCode = 1
})
