#!/usr/bin/env node
// An ESME built on node-smpp (npm `smpp`): bind_transceiver, an enquire_link, N submit_sm with a
// window, every submit_sm_resp checked (status ESME_ROK, a non-empty message_id seen once), then
// the delivery receipts waited for and matched to the message_ids of the responses, unbind.
// Prints one JSON summary line on stdout; exits 0 only when every check held, 1 on any mismatch
// or timeout, 2 on a usage error. Everything is bounded by --timeout-ms.
'use strict';

const smpp = require('smpp');
const common = require('./lib/common');

const usage = `usage: esme.js --port N [options]

A node-smpp ESME: binds as a transceiver, submits messages, checks every response and
matches the delivery receipts to the responses' message_ids.

  --host H            SMSC or router address (default 127.0.0.1)
  --port N            its port (required)
  --system-id ID      bind system_id (default esme)
  --password PW       bind password (default secret)
  --count N           submit_sm to send (default 200)
  --window N          outstanding submit_sm at most (default 10)
  --destination D     destination_addr (default 447900000001)
  --no-receipts       registered_delivery 0 and no wait for receipts
  --data-sm           send data_sm (SMPP 3.4 §4.7, the text in message_payload) instead of
                      submit_sm; their data_sm_resp are checked the same way
  --expect-id-prefix P
                      every message_id must start with P (the upstream's ids, relayed)
  --expect-alerts N   wait for N alert_notification (SMPP 3.4 §4.12) before unbinding; more
                      or fewer is a failure (default 0)
  --timeout-ms N      hard bound on the whole run (default 30000)
  --receipt-idle-ms N once every response is in, give up when no receipt arrived for N ms
                      (default 0: wait until --timeout-ms)
  --tls-ca FILE       connect over TLS, verifying the server against this PEM CA file
  --tls-servername N  the name or IP the certificate must carry (default: --host)
  --help              print this help

JSON: {"peer","bound","bind_status","enquire_link_ok","sent","resp_ok","resp_errors",
"message_ids","receipts","receipts_matched","receipts_unmatched","receipts_duplicate",
"receipts_text_mismatch","receipts_bad","alerts","unbound","timed_out","ok","failures":[...]}.
Exit status: 0 every check held, 1 some did not, 2 usage error.
`;

const spec = {
  ...common.esmeConnectSpec,
  '--count': 'uint',
  '--data-sm': 'flag',
  '--window': 'uint',
  '--destination': 'string',
  '--no-receipts': 'flag',
  '--expect-id-prefix': 'string',
  '--expect-alerts': 'uint',
  '--receipt-idle-ms': 'uint',
  '--tls-ca': 'string',
  '--tls-servername': 'string',
};
const opt = common.parseArgs(process.argv.slice(2), spec, usage, 'esme.js');
const host = opt['--host'] || '127.0.0.1';
const port = opt['--port'];
const count = opt['--count'] ?? 200;
const window = Math.max(1, opt['--window'] ?? 10);
const wantReceipts = !opt['--no-receipts'];
const timeoutMs = opt['--timeout-ms'] ?? 30000;
const receiptIdleMs = opt['--receipt-idle-ms'] ?? 0;
const idPrefix = opt['--expect-id-prefix'];
const expectAlerts = opt['--expect-alerts'] ?? 0;
if (port === undefined) common.usageError(usage, 'esme.js', '--port is required');

const summary = {
  peer: 'node-smpp ' + require('smpp/package.json').version,
  bound: false,
  bind_status: null,
  enquire_link_ok: false,
  sent: 0,
  resp_ok: 0,
  resp_errors: {},
  message_ids: 0,
  receipts: 0,
  receipts_matched: 0,
  receipts_unmatched: 0,
  receipts_duplicate: 0,
  receipts_text_mismatch: 0,
  receipts_bad: 0,
  alerts: 0,
  enquire_links_answered: 0,
  unbound: false,
  timed_out: false,
  ok: false,
  failures: [],
};
const ids = new Map();  // message_id -> 'open' | 'receipted'
let outstanding = 0;
let finished = false;
let idleTimer = null;

const tlsCa = opt['--tls-ca'];
// node-smpp hands these options to tls.connect(); the certificate is always verified.
const session = tlsCa === undefined ? smpp.connect({host, port}) : smpp.connect({
  host, port, tls: true, ca: require('fs').readFileSync(tlsCa), rejectUnauthorized: true,
  servername: opt['--tls-servername'] || host,
});

function fail(why) {
  if (summary.failures.length < 20) summary.failures.push(why);
}

const finish = common.boundedRun(session, summary, timeoutMs, fail, () => {
  finished = true;
  clearTimeout(idleTimer);
  if (summary.sent !== count) fail(`sent ${summary.sent} of ${count}`);
  if (summary.resp_ok !== count) fail(`${summary.resp_ok} of ${count} submit_sm_resp ESME_ROK`);
  if (summary.message_ids !== summary.resp_ok) fail('message_ids missing or repeated');
  if (wantReceipts && summary.receipts_matched !== summary.message_ids) {
    fail(`${summary.receipts_matched} of ${summary.message_ids} receipts matched`);
  }
  if (summary.receipts_unmatched + summary.receipts_duplicate + summary.receipts_text_mismatch +
      summary.receipts_bad !== 0) {
    fail('receipts that match no response, twice, or inconsistently');
  }
  if (!wantReceipts && summary.receipts !== 0) fail('receipts that were not asked for');
  if (summary.alerts !== expectAlerts) fail(`${summary.alerts} of ${expectAlerts} alerts`);
  summary.ok = summary.bound && summary.enquire_link_ok && summary.unbound &&
               !summary.timed_out && summary.failures.length === 0;
});

// Requests from the peer: answered at once.
session.on('enquire_link', (pdu) => {
  ++summary.enquire_links_answered;
  session.send(pdu.response());
});
session.on('unbind', (pdu) => {
  fail('unbound by the peer');
  session.send(pdu.response());
  finish();
});
session.on('deliver_sm', (pdu) => {
  session.send(pdu.response());
  const receipt = common.receiptOf(pdu);
  if (receipt === null) {
    fail('deliver_sm that is not a delivery receipt');
    ++summary.receipts_bad;
    return;
  }
  ++summary.receipts;
  if (receipt.textId !== null && receipt.tlvId !== null && receipt.textId !== receipt.tlvId) {
    ++summary.receipts_text_mismatch;
    fail(`receipt text id ${receipt.textId} != receipted_message_id ${receipt.tlvId}`);
  }
  const id = receipt.tlvId ?? receipt.textId;
  const state = ids.get(id);
  if (state === undefined) {
    ++summary.receipts_unmatched;
    fail(`receipt for unknown message_id ${JSON.stringify(id)}`);
  } else if (state === 'receipted') {
    ++summary.receipts_duplicate;
  } else {
    ids.set(id, 'receipted');
    ++summary.receipts_matched;
  }
  maybeDone();
});

// SMPP 3.4 §4.12: an alert_notification has no response.
session.on('alert_notification', () => {
  ++summary.alerts;
  maybeDone();
});

// Receipts that stop coming (refused or lost on their way) end the run early, not at the timeout.
function armIdleTimer() {
  if (receiptIdleMs === 0 || finished) return;
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    fail(`no receipt for ${receiptIdleMs} ms`);
    finish();
  }, receiptIdleMs);
}

function maybeDone() {
  if (summary.sent < count || outstanding > 0) return;
  if (wantReceipts && summary.receipts_matched < summary.message_ids) return armIdleTimer();
  if (summary.alerts < expectAlerts) return;
  if (summary.failures.length > 0) return finish();
  session.unbind((resp) => {
    summary.unbound = resp.command_status === 0;
    finish();
  });
}

function pump() {
  while (summary.sent < count && outstanding < window) {
    const n = ++summary.sent;
    ++outstanding;
    const message = {
      source_addr_ton: 5,  // alphanumeric, SMPP 3.4 §5.2.5
      source_addr: 'nodeesme',
      dest_addr_ton: 1,  // international
      dest_addr_npi: 1,  // E.164
      destination_addr: opt['--destination'] || '447900000001',
      registered_delivery: wantReceipts ? 1 : 0,
      data_coding: 0,
    };
    if (opt['--data-sm']) {
      // SMPP 3.4 §4.7.1: no short_message; the text travels in the message_payload TLV.
      session.data_sm({...message, message_payload: `node-smpp data_sm ${n}`}, onSubmitResp);
    } else {
      session.submit_sm({...message, short_message: `node-smpp message ${n}`}, onSubmitResp);
    }
  }
}

function onSubmitResp(pdu) {
  --outstanding;
  if (pdu.command_status !== 0) {
    const name = common.statusName(pdu.command_status);
    summary.resp_errors[name] = (summary.resp_errors[name] || 0) + 1;
  } else {
    ++summary.resp_ok;
    const id = pdu.message_id;
    if (typeof id !== 'string' || id.length === 0) {
      fail('submit_sm_resp ESME_ROK without a message_id');
    } else if (idPrefix !== undefined && !id.startsWith(idPrefix)) {
      fail(`message_id ${id} does not start with ${idPrefix}`);
    } else if (ids.has(id)) {
      fail(`message_id ${id} given twice`);
    } else {
      ids.set(id, 'open');
      ++summary.message_ids;
    }
  }
  pump();
  maybeDone();
}

session.on('connect', () => {
  session.bind_transceiver({
    system_id: opt['--system-id'] || 'esme',
    password: opt['--password'] ?? 'secret',
    interface_version: 0x34,
  }, (resp) => {
    summary.bind_status = common.statusName(resp.command_status);
    if (resp.command_status !== 0) {
      fail('bind refused: ' + summary.bind_status);
      return finish();
    }
    summary.bound = true;
    session.enquire_link((el) => {
      summary.enquire_link_ok = el.command_status === 0;
      if (!summary.enquire_link_ok) fail('enquire_link_resp ' + common.statusName(el.command_status));
      if (count === 0) return maybeDone();
      pump();
    });
  });
});
