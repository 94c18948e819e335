// The runnable-guide format: blocks, commands with their expected output, and the output matcher.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { matchOutput, parseBlocks, parseCommands } from '../../helpers/guides.ts';

const MD = [
  'Some text.',
  '',
  '```bash',
  '$ pgtls kubectl get pg -n demo',
  'NAME          VERSION   STATUS   AGE',
  'ha-postgres   18.3      Ready    <age>',
  '',
  '$ pgtls kubectl apply -f - <<EOF',
  'apiVersion: v1',
  'kind: Namespace',
  '$ not a command: inside the heredoc',
  'EOF',
  'namespace/x created',
  '$ openssl req -x509 -nodes \\',
  '    -subj "/CN=ca/O=kubedb"',
  '```',
  '',
  '```yaml docs/guides/postgres/add-tls.yaml',
  'kind: X',
  '```',
  '',
  '```bash exit=1',
  '$ false',
  '```',
].join('\n');

describe('runnable guides: format', () => {
  it('parses fenced blocks with their attributes and lines', () => {
    const b = parseBlocks(MD);
    assert.deepEqual(b.map((x) => [x.lang, x.attrs, x.line]), [['bash', [], 3], ['yaml', ['docs/guides/postgres/add-tls.yaml'], 18], ['bash', ['exit=1'], 22]]);
    assert.equal(b[1]!.body, 'kind: X');
    assert.throws(() => parseBlocks('```bash\n$ x\n'), /line 1: code block not closed/);
  });

  it('splits commands (continuations, heredocs) from their expected output', () => {
    const [first, , last] = parseBlocks(MD);
    const c = parseCommands(first!);
    assert.deepEqual(c.map((x) => x.cmd), [
      'pgtls kubectl get pg -n demo',
      'pgtls kubectl apply -f - <<EOF\napiVersion: v1\nkind: Namespace\n$ not a command: inside the heredoc\nEOF',
      'openssl req -x509 -nodes \\\n    -subj "/CN=ca/O=kubedb"',
    ]);
    assert.deepEqual(c[0]!.expected, ['NAME          VERSION   STATUS   AGE', 'ha-postgres   18.3      Ready    <age>']);
    assert.deepEqual(c[1]!.expected, ['namespace/x created']);
    assert.deepEqual(c.map((x) => x.line), [4, 8, 14]);
    assert.equal(parseCommands(last!)[0]!.exit, 1);
    assert.throws(() => parseCommands({ lang: 'bash', attrs: [], body: 'echo hi', line: 7 }), /line 8: a bash block starts with a command/);
  });

  it('matches output: spaces collapsed, <placeholders> within a line, ... for any lines', () => {
    const out = 'NAME          VERSION   STATUS   AGE\nha-postgres   18.3      Ready    2m3s\n';
    assert.equal(matchOutput(['NAME VERSION STATUS AGE', 'ha-postgres 18.3 Ready <age>'], out), undefined);
    assert.equal(matchOutput(['...', 'ha-postgres   18.3   Ready   <age>'], out), undefined);
    assert.equal(matchOutput(['NAME VERSION STATUS AGE', '...'], out), undefined);
    assert.equal(matchOutput(['a', '...', 'd'], 'a\nb\nc\nd'), undefined);
    assert.equal(matchOutput(['a', '...', 'd'], 'a\nd'), undefined);
    assert.equal(matchOutput([], 'anything'), undefined);
    assert.match(matchOutput(['ha-postgres 18.3 NotReady <age>'], out)!, /expected line "ha-postgres 18.3 NotReady <age>" not found/);
    assert.match(matchOutput(['NAME VERSION STATUS AGE'], out)!, /unexpected extra output from "ha-postgres 18.3 Ready 2m3s"/);
    // Placeholders never match an empty cell; regex characters in the text are literal.
    assert.notEqual(matchOutput(['serial <serial> (x)'], 'serial  (x)'), undefined);
    assert.equal(matchOutput(['a.b (c) [d]* <x>'], 'a.b (c) [d]* 42'), undefined);
    assert.notEqual(matchOutput(['a.b'], 'axb'), undefined);
  });
});
