// Helpers shared by the node-smpp peers: strict argument parsing, status names, and delivery
// receipts (SMPP 3.4 Appendix B text, §5.3.2.12 receipted_message_id).
'use strict';

const smpp = require('smpp');

function usageError(usage, who, why) {
  process.stderr.write(`${who}: ${why}\n${usage}`);
  process.exit(2);
}

// Parses `--name value` / `--name=value` options by `spec` (name -> 'string' | 'uint' | 'port'
// | 'flag'); unknown options and bad values exit 2 with the usage text.
function parseArgs(argv, spec, usage, who) {
  const out = {};
  for (let i = 0; i < argv.length; ++i) {
    let name = argv[i];
    if (name === '-h' || name === '--help') {
      process.stdout.write(usage);
      process.exit(0);
    }
    let value;
    const eq = name.indexOf('=');
    if (name.startsWith('--') && eq > 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const kind = spec[name];
    if (kind === undefined) usageError(usage, who, `unknown option ${argv[i]}`);
    if (kind === 'flag') {
      if (value !== undefined) usageError(usage, who, `${name} takes no value`);
      out[name] = true;
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) usageError(usage, who, `${name} needs a value`);
      value = argv[++i];
    }
    if (kind === 'uint' || kind === 'port') {
      const max = kind === 'port' ? 65535 : 1e9;
      if (!/^[0-9]+$/.test(value) || Number(value) > max) {
        usageError(usage, who, `${name}: invalid value '${value}' (0..${max})`);
      }
      out[name] = Number(value);
    } else {
      out[name] = value;
    }
  }
  return out;
}

const statusNames = new Map();
for (const [name, code] of Object.entries(smpp.errors)) {
  if (!statusNames.has(code)) statusNames.set(code, name);
}

function statusName(code) {
  return statusNames.get(code) || '0x' + code.toString(16).padStart(8, '0');
}

function messageText(sm) {
  if (sm === undefined || sm === null) return '';
  if (Buffer.isBuffer(sm)) return sm.toString('latin1');
  if (typeof sm === 'string') return sm;
  if (typeof sm.message === 'string') return sm.message;
  if (Buffer.isBuffer(sm.message)) return sm.message.toString('latin1');
  return '';
}

// SMPP 3.4 §5.2.12: esm_class bits 5..2 = 0001 marks an SMSC delivery receipt. Returns
// {tlvId, textId, stat} or null when the deliver_sm is not a receipt.
function receiptOf(pdu) {
  if (((pdu.esm_class || 0) & 0x3c) !== 0x04) return null;
  const text = messageText(pdu.short_message);
  const idMatch = /(?:^|\s)id:(\S+)/.exec(text);
  const statMatch = /(?:^|\s)stat:(\S+)/.exec(text);
  const tlv = pdu.receipted_message_id;
  return {
    tlvId: typeof tlv === 'string' && tlv.length > 0 ? tlv : null,
    textId: idMatch ? idMatch[1] : null,
    stat: statMatch ? statMatch[1] : null,
  };
}

// YYMMDDhhmm, Appendix B's date format.
function receiptDate(d) {
  const two = (n) => String(n).padStart(2, '0');
  return two(d.getUTCFullYear() % 100) + two(d.getUTCMonth() + 1) + two(d.getUTCDate()) +
         two(d.getUTCHours()) + two(d.getUTCMinutes());
}

// The informative receipt text of SMPP 3.4 Appendix B.
function receiptText(id, submitted, done, text) {
  return `id:${id} sub:001 dlvrd:001 submit date:${receiptDate(submitted)} ` +
         `done date:${receiptDate(done)} stat:DELIVRD err:000 text:${text.slice(0, 20)}`;
}

// An ESME's run ends once: on its own finish(), or after fail(why) when timeoutMs passes
// (summary.timed_out), the connection fails, or the peer closes it first. The JSON summary goes
// to stdout, then the process exits 0 when summary.ok, else 1. Returns finish().
function boundedRun(session, summary, timeoutMs, fail, complete) {
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(hardTimer);
    complete();
    process.stdout.write(JSON.stringify(summary) + '\n', () => {
      session.destroy();
      process.exit(summary.ok ? 0 : 1);
    });
  };
  const hardTimer = setTimeout(() => {
    summary.timed_out = true;
    fail(`timed out after ${timeoutMs} ms`);
    finish();
  }, timeoutMs);
  session.on('error', (e) => {
    fail('connection error: ' + e.message);
    finish();
  });
  session.on('close', () => {
    if (!finished) {
      fail('connection closed by the peer');
      finish();
    }
  });
  return finish;
}

// The options every ESME takes to reach its peer and bind (parseArgs spec).
const esmeConnectSpec = {
  '--host': 'string',
  '--port': 'port',
  '--system-id': 'string',
  '--password': 'string',
  '--timeout-ms': 'uint',
};

module.exports = {usageError, parseArgs, statusName, receiptOf, receiptText, messageText,
                  boundedRun, esmeConnectSpec};
