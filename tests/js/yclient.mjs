// An unmodified yjs + y-websocket client of a page's sync socket, for the interop tests.
//
//   COOPE_TOKEN=... node yclient.mjs SERVER_URL PAGE_ID MODE [TEXT]
//
// SERVER_URL is the daemon's base URL (http:// or ws://). The token comes from the COOPE_TOKEN
// environment variable, which keeps it out of process lists, or from --token=TOKEN. Modes:
//   append TEXT    add a paragraph block holding TEXT after the others, in one transaction
//   dump           print the blocks
//   wait-for TEXT  wait until some block's text contains TEXT, then print the blocks
//   bad-type [ID]  add a block of type "bogus" (with this id, or a random one) and report how
//                  the server closed the connection
//   type TEXT      type TEXT at the end of the first block, one character per transaction,
//                  5 ms apart, then print the blocks
// Output (stdout): "synced" once the first sync is done; blocks as JSON lines
// {id, type, text, checked, lang} in (pos, id) order; "closed CODE REASON" when the server
// closed the connection, followed by "stopped CODE REASON" when y-websocket took that close as
// final and will not reconnect (its default: codes 4400-4499). Exit status: 0 on success, 1 on
// failure, 2 on the 10 s timeout, 3 when the server closed the connection before the work was
// done (e.g. it refused a change).
// Every change is confirmed before the program exits: a sync step 1 is sent after it, and the
// server answers it (sync step 2) only once it has handled, and durably stored, what came before.

import { randomUUID } from 'node:crypto'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

const TIMEOUT_MS = 10_000
const FIRST_POS = 'V' // the middle base-62 digit, as the daemon starts its positions

const fail = (message, code = 1) => {
  process.stderr.write(`yclient: ${message}\n`)
  process.exit(code)
}

const args = process.argv.slice(2).filter((arg) => !arg.startsWith('--token='))
const tokenArg = process.argv.find((arg) => arg.startsWith('--token='))
const token = tokenArg ? tokenArg.slice('--token='.length) : process.env.COOPE_TOKEN
const [server, pageId, mode, text] = args
const MODES = ['append', 'dump', 'wait-for', 'bad-type', 'type']
if (!server || !pageId || !MODES.includes(mode)) {
  fail(`usage: yclient.mjs SERVER_URL PAGE_ID (${MODES.join('|')}) [TEXT]`)
}
if (['append', 'wait-for', 'type'].includes(mode) && text === undefined) {
  fail(`mode ${mode} needs a TEXT argument`)
}
if (!token) fail('no token: set COOPE_TOKEN')

setTimeout(() => fail(`timed out after ${TIMEOUT_MS / 1000} s in mode ${mode}`, 2), TIMEOUT_MS)

const url = server.replace(/^http/, 'ws').replace(/\/+$/, '') + '/api/v1/sync'
const ydoc = new Y.Doc()
const provider = new WebsocketProvider(url, String(pageId), ydoc, {
  WebSocketPolyfill: WebSocket,
  params: { token }
})
const blocks = ydoc.getMap('blocks')

// --- the connection ------------------------------------------------------------------------

let closedByServer = null // resolves with {code, reason} when the server closes the socket
const serverClose = new Promise((resolve) => { closedByServer = resolve })
provider.on('connection-error', (event) => {
  process.stderr.write(`yclient: connection error: ${event.message ?? event.type}\n`)
})
provider.on('connection-close', (event) => {
  if (event === null) return // closed by us
  process.stdout.write(`closed ${event.code} ${event.reason}\n`)
  closedByServer({ code: event.code, reason: String(event.reason) })
})
provider.on('closed', ({ code, reason }) => {
  process.stdout.write(`stopped ${code} ${reason}\n`)
})

const synced = new Promise((resolve) => {
  provider.once('synced', () => resolve())
})

/** `promise`, unless the server closes the connection first: then an error with `closed`. */
const whileOpen = (promise) => Promise.race([
  promise,
  serverClose.then(({ code, reason }) => {
    throw Object.assign(new Error(`the server closed the connection: ${code} ${reason}`), {
      closed: true
    })
  })
])

/** Resolve once the server has handled everything sent so far; reject if it closes first. */
const confirmed = () => {
  const ws = provider.ws
  if (ws === null || ws.readyState !== WebSocket.OPEN) {
    return Promise.reject(new Error('not connected'))
  }
  const answered = new Promise((resolve) => {
    const onMessage = (event) => {
      const data = new Uint8Array(event.data)
      if (data[0] === 0 && data[1] === 1) { // sync, step 2: the answer to our step 1
        ws.removeEventListener('message', onMessage)
        resolve()
      }
    }
    ws.addEventListener('message', onMessage)
  })
  const vector = Y.encodeStateVector(ydoc)
  ws.send(new Uint8Array([0, 0, ...varUint(vector.length), ...vector])) // sync, step 1
  return whileOpen(answered)
}

function varUint (n) {
  const out = []
  while (n > 0x7f) {
    out.push(0x80 | (n & 0x7f))
    n >>>= 7
  }
  out.push(n)
  return out
}

const finish = async (code = 0) => {
  const ws = provider.ws
  const gone = ws === null
    ? Promise.resolve()
    : new Promise((resolve) => { ws.once('close', resolve); setTimeout(resolve, 1000) })
  provider.destroy()
  await gone
  process.exit(code)
}

// --- the page --------------------------------------------------------------------------------

/** The blocks in the daemon's order: by (pos, id), a missing or odd pos counting as "". */
const ordered = () => [...blocks.entries()]
  .filter(([, block]) => block instanceof Y.Map)
  .map(([id, block]) => {
    const pos = block.get('pos')
    return { id, block, pos: typeof pos === 'string' ? pos : '' }
  })
  .sort((a, b) => compare(a.pos, b.pos) || compare(a.id, b.id))

// Code unit order, which is the daemon's code point order for the ASCII of ids and positions.
const compare = (a, b) => (a < b ? -1 : a > b ? 1 : 0)

const dump = () => {
  for (const { id, block } of ordered()) {
    const body = block.get('text')
    process.stdout.write(JSON.stringify({
      id,
      type: block.get('type'),
      text: body instanceof Y.Text ? body.toString() : String(body ?? ''),
      checked: block.get('checked') === true,
      lang: typeof block.get('lang') === 'string' ? block.get('lang') : ''
    }) + '\n')
  }
}

const newBlock = (type, content, id = randomUUID().replaceAll('-', '')) => {
  const all = ordered()
  // The last position with one more digit sorts after every other (and is a key if that was).
  const pos = all.length === 0 ? FIRST_POS : all[all.length - 1].pos + FIRST_POS
  ydoc.transact(() => {
    const block = new Y.Map()
    block.set('type', type)
    block.set('text', new Y.Text(content))
    block.set('checked', false)
    block.set('pos', pos)
    blocks.set(id, block)
  })
  return id
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const contains = (needle) =>
  ordered().some(({ block }) => String(block.get('text') ?? '').includes(needle))

async function main () {
  try {
    await whileOpen(synced)
    process.stdout.write('synced\n')
    if (mode === 'append') {
      newBlock('paragraph', text)
      await confirmed()
    } else if (mode === 'dump') {
      dump()
    } else if (mode === 'wait-for') {
      if (!contains(text)) {
        const seen = new Promise((resolve) => {
          const check = () => {
            if (contains(text)) {
              blocks.unobserveDeep(check)
              resolve()
            }
          }
          blocks.observeDeep(check)
        })
        await whileOpen(seen)
      }
      dump()
    } else if (mode === 'bad-type') {
      newBlock('bogus', 'not a real block', text) // no TEXT: the default, random id
      try {
        await confirmed()
      } catch (err) {
        if (err.closed) return finish(0) // "closed CODE REASON" is printed already
        throw err
      }
      throw new Error('the server accepted a block of type "bogus"')
    } else if (mode === 'type') {
      const first = ordered()[0]
      if (first === undefined) throw new Error('the page has no block to type into')
      const ytext = first.block.get('text')
      if (!(ytext instanceof Y.Text)) throw new Error(`block ${first.id} has no Y.Text`)
      for (const char of text) {
        ydoc.transact(() => ytext.insert(ytext.length, char))
        await sleep(5)
      }
      await confirmed()
      dump()
    }
  } catch (err) {
    process.stderr.write(`yclient: ${err.message}\n`)
    return finish(err.closed ? 3 : 1)
  }
  return finish(0)
}

main().catch((err) => fail(err.stack ?? String(err)))
