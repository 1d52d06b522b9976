#!/usr/bin/env node
// An upstream SMSC built on node-smpp (npm `smpp`): accepts binds (checking system_id and
// password when given), answers submit_sm with its own message_ids, sends a delivery receipt
// deliver_sm after a delay to the submitting session (or a receiver of the same system_id),
// answers enquire_link and may send its own, and counts everything. It also answers submit_multi
// (SMPP 3.4 §4.5: one message_id, a receipt per accepted destination quoting it), and with
// --broadcast broadcast_sm, query_broadcast_sm and cancel_broadcast_sm (SMPP 5.0 §4.4). Prints the counters as one
// JSON line on stdout on SIGUSR1, and on exit (SIGTERM, SIGINT or --duration-ms).
'use strict';

const fs = require('fs');
const smpp = require('smpp');
const common = require('./lib/common');

const usage = `usage: smsc.js [options]

A node-smpp SMSC for end-to-end tests.

  --host H             address to listen on (default 127.0.0.1)
  --port N             port (default 0: one from the kernel); printed on stderr as
                       "node-smsc: listening on H:PORT"
  --system-id ID       accept only this system_id (default: any)
  --password PW        accept only this password (default: any)
  --dlr-delay-ms N     send each delivery receipt N ms after the response (default 100)
  --id-prefix P        message_ids are P followed by a decimal counter (default NODE)
  --alert-esme-addr A after each submit_sm it accepts, send an alert_notification (SMPP 3.4
                       §4.12) on that session: source_addr the submit's destination,
                       esme_addr A
  --outbind-to H:PORT also call the ESME back (SMPP 3.4 §4.1.7): connect to H:PORT, send
                       outbind, and serve the bind that follows on that connection like an
                       accepted one; again 200 ms after it closes
  --outbind-system-id ID, --outbind-password PW
                       the outbind's credentials (default: smsc, empty)
  --refuse-destination D
                       a submit_multi's destination D is refused: listed in unsuccess_sme with
                       ESME_RINVDSTADR (SMPP 3.4 §4.5.2), no receipt for it
  --broadcast          take cell broadcasts (SMPP 5.0 §4.4): broadcast_sm answered with a
                       message_id, query_broadcast_sm and cancel_broadcast_sm answered ESME_ROK
                       for an id it issued (and not cancelled), else ESME_RBCASTQUERYFAIL /
                       ESME_RBCASTCANCELFAIL; without it they are ESME_RINVCMDID
  --enquire-link-ms N  send enquire_link to every bound session every N ms (default 0: never)
  --max-sessions N     connections open at once; more are closed at once (default 64)
  --duration-ms N      exit after N ms (default 60000)
  --dump FILE          append each submit_sm as node-smpp decoded it to FILE, one JSON line:
                       the addresses, esm_class, registered_delivery, data_coding,
                       validity_period, udh (the information elements, hex) and the message
                       as text (text codings) or hex
  --help               print this help

Exit status: 0 normal exit, 1 cannot listen, 2 usage error.
`;

const spec = {
  '--host': 'string',
  '--port': 'port',
  '--system-id': 'string',
  '--password': 'string',
  '--dlr-delay-ms': 'uint',
  '--id-prefix': 'string',
  '--alert-esme-addr': 'string',
  '--outbind-to': 'string',
  '--outbind-system-id': 'string',
  '--outbind-password': 'string',
  '--refuse-destination': 'string',
  '--broadcast': 'flag',
  '--enquire-link-ms': 'uint',
  '--max-sessions': 'uint',
  '--duration-ms': 'uint',
  '--dump': 'string',
};
const opt = common.parseArgs(process.argv.slice(2), spec, usage, 'smsc.js');
const host = opt['--host'] || '127.0.0.1';
const dlrDelayMs = opt['--dlr-delay-ms'] ?? 100;
const idPrefix = opt['--id-prefix'] ?? 'NODE';
const maxSessions = opt['--max-sessions'] ?? 64;
const enquireLinkMs = opt['--enquire-link-ms'] ?? 0;
const started = Date.now();

const counters = {
  connections: 0,
  refused_connections: 0,
  disconnects: 0,
  binds: 0,
  bind_failures: 0,
  unbinds: 0,
  enquire_links: 0,
  enquire_links_sent: 0,
  enquire_link_resps: 0,
  submit_sm: 0,
  accepted: 0,
  rejected: 0,
  receipts_sent: 0,
  receipts_acked: 0,
  receipts_nacked: 0,
  receipts_dropped: 0,
  alerts_sent: 0,
  submit_multi: 0,
  multi_destinations: 0,
  multi_refused: 0,
  broadcast_sm: 0,
  query_broadcast_sm: 0,
  cancel_broadcast_sm: 0,
  broadcast_ops_unknown: 0,
  outbinds_sent: 0,
  generic_nacks: 0,
  errors: 0,
};
let nextId = 1;
const sessions = new Set();
const broadcasts = new Set();  // message_ids of broadcasts issued and not cancelled

function report() {
  const out = Object.assign({}, counters, {uptime_s: (Date.now() - started) / 1000});
  process.stdout.write(JSON.stringify(out) + '\n');
}

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  report();
  for (const s of sessions) s.session.destroy();
  process.stdout.write('', () => process.exit(0));
}

const isTransmitter = (t) => t === 'transmitter' || t === 'transceiver';
const isReceiver = (t) => t === 'receiver' || t === 'transceiver';

function receiverFor(origin) {
  if (sessions.has(origin) && isReceiver(origin.bound)) return origin;
  for (const s of sessions) {
    if (isReceiver(s.bound) && s.systemId === origin.systemId) return s;
  }
  return null;
}

function sendReceipt(origin, submit, id, submittedAt) {
  const s = receiverFor(origin);
  if (s === null) {
    ++counters.receipts_dropped;
    return;
  }
  ++counters.receipts_sent;
  const text = common.messageText(submit.short_message);
  s.session.deliver_sm({
    source_addr_ton: submit.dest_addr_ton,
    source_addr_npi: submit.dest_addr_npi,
    source_addr: submit.destination_addr,
    dest_addr_ton: submit.source_addr_ton,
    dest_addr_npi: submit.source_addr_npi,
    destination_addr: submit.source_addr,
    esm_class: 0x04,  // SMPP 3.4 §5.2.12: SMSC delivery receipt
    data_coding: 0,
    short_message: Buffer.from(common.receiptText(id, submittedAt, new Date(), text), 'latin1'),
    receipted_message_id: id,  // §5.3.2.12
    message_state: 2,          // §5.2.28: DELIVERED
  }, (resp) => {
    if (resp.command_status === 0) {
      ++counters.receipts_acked;
    } else {
      ++counters.receipts_nacked;
    }
  });
}

function onPdu(state, pdu) {
  const session = state.session;
  const answer = (status) => session.send(pdu.response({command_status: status}));
  const refuseCommand = () => {
    // SMPP 3.4 §5.1.3: a request this SMSC does not serve.
    ++counters.rejected;
    return answer(smpp.ESME_RINVCMDID);
  };
  switch (pdu.command) {
    case 'bind_transmitter':
    case 'bind_receiver':
    case 'bind_transceiver': {
      let status = smpp.ESME_ROK;
      if (state.bound !== null) {
        status = smpp.ESME_RALYBND;
      } else if (opt['--system-id'] !== undefined && pdu.system_id !== opt['--system-id']) {
        status = smpp.ESME_RINVSYSID;
      } else if (opt['--password'] !== undefined && pdu.password !== opt['--password']) {
        status = smpp.ESME_RINVPASWD;
      }
      if (status !== smpp.ESME_ROK) {
        ++counters.bind_failures;
        return answer(status);
      }
      ++counters.binds;
      state.bound = pdu.command.slice('bind_'.length);
      state.systemId = pdu.system_id;
      return session.send(pdu.response({system_id: 'node-smsc'}));
    }
    case 'submit_sm': {
      ++counters.submit_sm;
      if (opt['--dump']) dump(pdu);
      if (!isTransmitter(state.bound)) {
        ++counters.rejected;
        return answer(smpp.ESME_RINVBNDSTS);
      }
      ++counters.accepted;
      const id = idPrefix + String(nextId++);
      session.send(pdu.response({message_id: id}));
      if (opt['--alert-esme-addr'] !== undefined) {
        ++counters.alerts_sent;
        session.alert_notification({
          source_addr_ton: pdu.dest_addr_ton,
          source_addr_npi: pdu.dest_addr_npi,
          source_addr: pdu.destination_addr,
          esme_addr_ton: 1,
          esme_addr_npi: 1,
          esme_addr: opt['--alert-esme-addr'],
        });
      }
      // §5.2.17: registered_delivery bits 1-0 == 01 asks for a receipt on the final outcome.
      if (((pdu.registered_delivery || 0) & 0x03) === 0x01) {
        const submittedAt = new Date();
        setTimeout(() => sendReceipt(state, pdu, id, submittedAt), dlrDelayMs);
      }
      return;
    }
    case 'submit_multi': {
      ++counters.submit_multi;
      if (!isTransmitter(state.bound)) {
        ++counters.rejected;
        return answer(smpp.ESME_RINVBNDSTS);
      }
      const dests = pdu.dest_address || [];
      counters.multi_destinations += dests.length;
      const refused = dests.filter((d) => d.destination_addr === opt['--refuse-destination']);
      counters.multi_refused += refused.length;
      ++counters.accepted;
      const id = idPrefix + String(nextId++);
      session.send(pdu.response({
        message_id: id,
        unsuccess_sme: refused.map((d) => ({
          dest_addr_ton: d.dest_addr_ton, dest_addr_npi: d.dest_addr_npi,
          destination_addr: d.destination_addr, error_status_code: smpp.ESME_RINVDSTADR,
        })),
      }));
      if (((pdu.registered_delivery || 0) & 0x03) === 0x01) {
        const submittedAt = new Date();
        for (const d of dests) {
          if (refused.includes(d)) continue;
          const one = Object.assign({}, pdu, d);  // the destination's own addresses
          setTimeout(() => sendReceipt(state, one, id, submittedAt), dlrDelayMs);
        }
      }
      return;
    }
    case 'broadcast_sm': {
      if (!opt['--broadcast']) return refuseCommand();
      ++counters.broadcast_sm;
      const id = idPrefix + 'B' + String(nextId++);
      broadcasts.add(id);
      return session.send(pdu.response({message_id: id}));
    }
    case 'query_broadcast_sm':
    case 'cancel_broadcast_sm': {
      if (!opt['--broadcast']) return refuseCommand();
      ++counters[pdu.command];
      const known = broadcasts.has(pdu.message_id);
      if (!known) {
        ++counters.broadcast_ops_unknown;
        return answer(pdu.command === 'query_broadcast_sm' ? smpp.ESME_RBCASTQUERYFAIL
                                                           : smpp.ESME_RBCASTCANCELFAIL);
      }
      if (pdu.command === 'cancel_broadcast_sm') {
        broadcasts.delete(pdu.message_id);
        return answer(smpp.ESME_ROK);
      }
      // SMPP 5.0 §4.4.2.2: the state and the areas are mandatory TLVs of the answer.
      return session.send(pdu.response({
        message_id: pdu.message_id,
        message_state: 1,  // ENROUTE: still being broadcast
        broadcast_area_identifier: [{format: 0, data: Buffer.from('cell-42', 'ascii')}],
        broadcast_area_success: 100,
      }));
    }
    case 'enquire_link':
      ++counters.enquire_links;
      return session.send(pdu.response());
    case 'enquire_link_resp':
      ++counters.enquire_link_resps;
      return;
    case 'unbind':
      ++counters.unbinds;
      state.bound = null;
      session.send(pdu.response(), () => session.close());
      return;
    case 'deliver_sm_resp':
    case 'unbind_resp':
    case 'generic_nack':
      return;  // answers to our requests: counted in their callbacks
    default:
      if (pdu.isResponse()) return;
      if (pdu.command === 'unknown') ++counters.generic_nacks;
      return refuseCommand();
  }
}

// A submit_sm's fields as node-smpp's decoder gives them: short_message is {udh, message}, the
// message a string for the codings it decodes (GSM 03.38, Latin-1, UCS-2), else a Buffer.
function dump(pdu) {
  const sm = pdu.short_message || {};
  const message = sm.message === undefined ? sm : sm.message;
  const line = {
    source_addr_ton: pdu.source_addr_ton, source_addr_npi: pdu.source_addr_npi,
    source_addr: pdu.source_addr, dest_addr_ton: pdu.dest_addr_ton,
    dest_addr_npi: pdu.dest_addr_npi, destination_addr: pdu.destination_addr,
    esm_class: pdu.esm_class, registered_delivery: pdu.registered_delivery,
    data_coding: pdu.data_coding, validity_period: pdu.validity_period || '',
    udh: (sm.udh || []).map((b) => b.toString('hex')),
  };
  if (Buffer.isBuffer(message)) line.hex = message.toString('hex');
  else line.text = String(message);
  fs.appendFileSync(opt['--dump'], JSON.stringify(line) + '\n');
}

function serve(session) {
  const state = {session, bound: null, systemId: null, timer: null};
  sessions.add(state);
  if (enquireLinkMs > 0) {
    state.timer = setInterval(() => {
      if (state.bound === null) return;
      ++counters.enquire_links_sent;
      session.enquire_link();
    }, enquireLinkMs);
  }
  session.on('pdu', (pdu) => onPdu(state, pdu));
  session.on('error', () => {
    ++counters.errors;
    session.destroy();
  });
  session.on('close', () => {
    if (state.timer !== null) clearInterval(state.timer);
    if (sessions.delete(state)) ++counters.disconnects;
  });
}

const server = smpp.createServer((session) => {
  if (stopping || sessions.size >= maxSessions) {
    ++counters.refused_connections;
    session.destroy();
    return;
  }
  ++counters.connections;
  serve(session);
});

// SMPP 3.4 §4.1.7: the SMSC opens the connection and sends outbind; the ESME binds on it.
function callBack() {
  if (stopping) return;
  const [obHost, obPort] = [opt['--outbind-to'].replace(/:\d+$/, ''),
    Number(opt['--outbind-to'].replace(/^.*:/, ''))];
  const session = smpp.connect({host: obHost, port: obPort, auto_enquire_link_period: 0});
  session.on('connect', () => {
    ++counters.connections;
    ++counters.outbinds_sent;
    serve(session);
    session.outbind({system_id: opt['--outbind-system-id'] ?? 'smsc',
      password: opt['--outbind-password'] ?? ''});
  });
  session.on('close', () => setTimeout(callBack, 200).unref());
  session.on('error', () => {});
}
if (opt['--outbind-to'] !== undefined) callBack();

server.on('error', (e) => {
  process.stderr.write(`node-smsc: cannot listen on ${host}:${opt['--port'] ?? 0}: ${e.message}\n`);
  process.exit(1);
});
server.listen(opt['--port'] ?? 0, host, () => {
  process.stderr.write(`node-smsc: listening on ${host}:${server.address().port}\n`);
});

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('SIGUSR1', report);
setTimeout(stop, opt['--duration-ms'] ?? 60000).unref();
