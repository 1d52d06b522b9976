#!/usr/bin/env node
// An ESME built on node-smpp (npm `smpp`) for the PDUs beyond submit_sm: one submit_multi (SMPP
// 3.4 §4.5) to a list of destinations, and one broadcast_sm (SMPP 5.0 §4.4.1) followed by
// query_broadcast_sm and cancel_broadcast_sm for the id it got and for an id nobody issued
// (§4.4.2, §4.4.3). It reports what came back (statuses, message_ids, unsuccess_sme, the
// receipts of the submit_multi's destinations) as one JSON line; the test decides what is right.
// Exits 0 when the run completed (bound, every request answered, unbound), 1 otherwise, 2 on a
// usage error. Everything is bounded by --timeout-ms.
'use strict';

const smpp = require('smpp');
const common = require('./lib/common');

const usage = `usage: pdus.js --port N [options]

A node-smpp ESME sending submit_multi and cell broadcast PDUs and reporting the answers.

  --host H            SMSC or router address (default 127.0.0.1)
  --port N            its port (required)
  --system-id ID      bind system_id (default esme)
  --password PW       bind password (default secret)
  --multi D1,D2,...   send one submit_multi to these destinations (ton 1, npi 1), asking for
                      receipts (registered_delivery 1)
  --receipts N        after the submit_multi_resp, wait for N delivery receipts (default 0)
  --broadcast         send one broadcast_sm, then query_broadcast_sm and cancel_broadcast_sm
                      for its message_id and for the id "NO-SUCH-ID"
  --timeout-ms N      hard bound on the whole run (default 30000)
  --help              print this help

JSON: {"peer","bound","unbound","timed_out","multi":{"status","message_id","unsuccess":
[{"destination_addr","status"}]},"receipts":[{"id","source_addr"}],"broadcast":{"status",
"message_id","query","cancel","query_unknown","cancel_unknown"},"ok","failures":[...]}.
Exit status: 0 the run completed, 1 it did not, 2 usage error.
`;

const spec = {
  ...common.esmeConnectSpec,
  '--multi': 'string',
  '--receipts': 'uint',
  '--broadcast': 'flag',
};
const opt = common.parseArgs(process.argv.slice(2), spec, usage, 'pdus.js');
const port = opt['--port'];
if (port === undefined) common.usageError(usage, 'pdus.js', '--port is required');
const multi = opt['--multi'] === undefined ? [] : opt['--multi'].split(',').filter((d) => d);
const wantReceipts = opt['--receipts'] ?? 0;
const timeoutMs = opt['--timeout-ms'] ?? 30000;

const summary = {
  peer: 'node-smpp ' + require('smpp/package.json').version,
  bound: false,
  unbound: false,
  timed_out: false,
  multi: null,
  receipts: [],
  broadcast: null,
  ok: false,
  failures: [],
};
const session = smpp.connect({host: opt['--host'] || '127.0.0.1', port});

function fail(why) {
  if (summary.failures.length < 20) summary.failures.push(why);
}

const finish = common.boundedRun(session, summary, timeoutMs, fail, () => {
  summary.ok = summary.bound && summary.unbound && !summary.timed_out &&
               summary.failures.length === 0;
});
session.on('enquire_link', (pdu) => session.send(pdu.response()));
session.on('unbind', (pdu) => {
  fail('unbound by the peer');
  session.send(pdu.response());
  finish();
});

let receiptsDone = null;  // called once the receipts asked for are in
session.on('deliver_sm', (pdu) => {
  session.send(pdu.response());
  const receipt = common.receiptOf(pdu);
  if (receipt === null) return fail('deliver_sm that is not a delivery receipt');
  summary.receipts.push({id: receipt.tlvId ?? receipt.textId, source_addr: pdu.source_addr});
  if (summary.receipts.length >= wantReceipts && receiptsDone !== null) {
    const done = receiptsDone;
    receiptsDone = null;
    done();
  }
});

function sendMulti(next) {
  if (multi.length === 0) return next();
  session.submit_multi({
    source_addr_ton: 1,
    source_addr_npi: 1,
    source_addr: '447000000000',
    dest_address: multi.map((d) => ({dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: d})),
    registered_delivery: 1,
    data_coding: 0,
    short_message: 'node-smpp submit_multi',
  }, (resp) => {
    summary.multi = {
      status: common.statusName(resp.command_status),
      message_id: resp.message_id ?? null,
      unsuccess: (resp.unsuccess_sme || []).map((u) => ({
        destination_addr: u.destination_addr,
        status: common.statusName(u.error_status_code),
      })),
    };
    if (summary.receipts.length >= wantReceipts) return next();
    receiptsDone = next;
  });
}

function sendBroadcast(next) {
  if (!opt['--broadcast']) return next();
  const b = {};
  summary.broadcast = b;
  session.broadcast_sm({
    source_addr_ton: 1,
    source_addr_npi: 1,
    source_addr: '447000000000',
    message_id: '',
    data_coding: 0,
    // SMPP 5.0 §4.4.1.1: the mandatory TLVs. Area: format 0 (alias/name), a cell name.
    broadcast_area_identifier: [{format: 0, data: Buffer.from('cell-42', 'ascii')}],
    broadcast_content_type: {network: 1, content_type: 0x0001},  // GSM, general news
    broadcast_rep_num: 2,
    broadcast_frequency_interval: {unit: 0x09, interval: 5},  // every 5 minutes
    message_payload: 'node-smpp broadcast',
  }, (resp) => {
    b.status = common.statusName(resp.command_status);
    b.message_id = resp.message_id ?? null;
    const id = b.message_id || 'NO-ID';
    const op = (name, msgId, key, then) => session[name]({
      message_id: msgId, source_addr_ton: 1, source_addr_npi: 1, source_addr: '447000000000',
    }, (r) => {
      b[key] = common.statusName(r.command_status);
      then();
    });
    op('query_broadcast_sm', id, 'query', () =>
      op('cancel_broadcast_sm', id, 'cancel', () =>
        op('query_broadcast_sm', 'NO-SUCH-ID', 'query_unknown', () =>
          op('cancel_broadcast_sm', 'NO-SUCH-ID', 'cancel_unknown', next))));
  });
}

session.on('connect', () => {
  session.bind_transceiver({
    system_id: opt['--system-id'] || 'esme',
    password: opt['--password'] ?? 'secret',
    interface_version: 0x50,  // broadcast_sm is SMPP 5.0
  }, (resp) => {
    if (resp.command_status !== 0) {
      fail('bind refused: ' + common.statusName(resp.command_status));
      return finish();
    }
    summary.bound = true;
    sendMulti(() => sendBroadcast(() => session.unbind((r) => {
      summary.unbound = r.command_status === 0;
      finish();
    })));
  });
});
