/* docs/errors.md is the user's reference for every error code: this test fails when a code is
 * added to ErrorCode without a section there, or a section outlives its code. Why: clients and
 * operators match on these codes, so an undocumented one is a silent contract change. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { ErrorCode, RedisErrors } from './errors.js'

/** Tests run from the repo root (`node --test dist/...`), so the path is relative to it. */
const docPath = 'docs/errors.md'

function readDoc(): string {
  return readFileSync(docPath, 'utf8')
}

test('every ErrorCode value has a row in the table and its own section in docs/errors.md', () => {
  const doc = readDoc()
  for (const code of Object.values(ErrorCode)) {
    const row = new RegExp(`^\\| \`${code}\` +\\|`, 'm')
    assert.match(doc, row, `docs/errors.md has a table row for ${code}`)
    assert.match(doc, new RegExp(`^## ${code}$`, 'm'), `docs/errors.md has a section ## ${code}`)
  }
})

test('docs/errors.md documents no code that ErrorCode lacks', () => {
  const codes = new Set<string>(Object.values(ErrorCode))
  const sections = [...readDoc().matchAll(/^## ([A-Z]+)$/gm)].map((match) => match[1] as string)
  assert.ok(sections.length > 0, 'docs/errors.md has code sections')
  for (const section of sections) {
    assert.ok(codes.has(section), `## ${section} in docs/errors.md is an ErrorCode`)
  }
  assert.equal(new Set(sections).size, sections.length, 'each code has exactly one section')
})

test('every Redis error text in RedisErrors appears in docs/errors.md', () => {
  const doc = readDoc()
  for (const [name, text] of Object.entries(RedisErrors)) {
    // A template is checked by its fixed text before the first placeholder.
    const render = text as string | ((...parts: string[]) => string)
    const fixed =
      typeof render === 'string' ? render : render('\u0000', '\u0000').split('\u0000')[0]
    assert.ok(fixed !== undefined && fixed.length > 0, `RedisErrors.${name} has fixed text`)
    assert.ok(doc.includes(fixed), `RedisErrors.${name} ("${fixed}") is in docs/errors.md`)
  }
})
