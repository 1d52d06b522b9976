#!/usr/bin/env python3
"""Writes sample.pcap: one SMPP 3.4 session over TCP port 2775, byte-for-byte reproducible.

    python3 make_sample_pcap.py [OUTPUT]     (default: sample.pcap next to this script)

The ESME 10.0.0.1:40000 binds to the SMSC 10.0.0.2:2775 as a transceiver, submits a GSM 7-bit
text, receives its delivery receipt, exchanges enquire_link and unbinds. The capture exercises
stream reassembly the way real captures do:
  - the submit_sm is split across two TCP segments, and the capture holds them out of order;
  - the submit_sm_resp segment is retransmitted (a duplicate the reader must drop);
  - deliver_sm_resp and enquire_link travel in one segment.
Only the standard library is used: classic pcap, Ethernet, IPv4 and TCP are written by hand.
"""

import os
import struct
import sys

SMPP_PORT = 2775
ESME = ("10.0.0.1", 40000, bytes.fromhex("020000000001"))
SMSC = ("10.0.0.2", SMPP_PORT, bytes.fromhex("020000000002"))
T0 = 1700000000  # 2023-11-14T22:13:20Z

# ---- SMPP ----------------------------------------------------------------------------------

IDS = {
    "bind_transceiver": 0x00000009, "bind_transceiver_resp": 0x80000009,
    "submit_sm": 0x00000004, "submit_sm_resp": 0x80000004,
    "deliver_sm": 0x00000005, "deliver_sm_resp": 0x80000005,
    "enquire_link": 0x00000015, "enquire_link_resp": 0x80000015,
    "unbind": 0x00000006, "unbind_resp": 0x80000006,
}


def cstr(s):
    return s.encode("ascii") + b"\0"


def tlv(tag, value):
    return struct.pack(">HH", tag, len(value)) + value


def pdu(name, seq, body=b"", status=0):
    # SMPP 3.4 §3.2: command_length counts the 16-octet header too.
    return struct.pack(">IIII", 16 + len(body), IDS[name], status, seq) + body


# GSM 7-bit default alphabet, unpacked (one septet per octet), 3GPP TS 23.038 §6.2.1.
GSM7 = {"@": 0x00, "\n": 0x0A, "\u20ac": (0x1B, 0x65)}


def gsm7(text):
    out = bytearray()
    for ch in text:
        v = GSM7.get(ch)
        if v is None:
            assert " " <= ch <= "z" and ch not in "$@[]\\^_`{|}", ch  # same code point in GSM
            out.append(ord(ch))
        elif isinstance(v, tuple):
            out.extend(v)
        else:
            out.append(v)
    return bytes(out)


def submit_like(service_type, src, dst, esm_class, registered_delivery, short_message):
    # SMPP 3.4 §4.4.1 (submit_sm) and §4.6.1 (deliver_sm) share the mandatory fields.
    return (cstr(service_type) + bytes([src[0], src[1]]) + cstr(src[2]) +
            bytes([dst[0], dst[1]]) + cstr(dst[2]) +
            bytes([esm_class, 0, 0]) + cstr("") + cstr("") +
            bytes([registered_delivery, 0, 0, 0, len(short_message)]) + short_message)


MESSAGE_ID = "5f3a2b1c"
TEXT = "Hello @ world! Price: 10\u20ac"
RECEIPT = ("id:%s sub:001 dlvrd:001 submit date:2311142213 done date:2311142213 "
           "stat:DELIVRD err:000 text:Hello @ world! Pri" % MESSAGE_ID)

bind = pdu("bind_transceiver", 1,
           cstr("esme01") + cstr("secret") + cstr("") + bytes([0x34, 0, 0]) + cstr(""))
bind_resp = pdu("bind_transceiver_resp", 1, cstr("SMSC") + tlv(0x0210, b"\x34"))
submit = pdu("submit_sm", 2,
             submit_like("", (5, 0, "Acme"), (1, 1, "447700900123"), 0x00, 0x01, gsm7(TEXT)))
submit_resp = pdu("submit_sm_resp", 2, cstr(MESSAGE_ID))
deliver = pdu("deliver_sm", 1,
              submit_like("", (1, 1, "447700900123"), (5, 0, "Acme"), 0x04, 0x00,
                          gsm7(RECEIPT)) +
              tlv(0x001E, cstr(MESSAGE_ID)) +      # receipted_message_id, SMPP 3.4 §5.3.2.12
              tlv(0x0427, b"\x02") +              # message_state DELIVERED, §5.3.2.35
              tlv(0x0423, b"\x03\x00\x00"))       # network_error_code, §5.3.2.31
deliver_resp = pdu("deliver_sm_resp", 1, cstr(""))
enquire = pdu("enquire_link", 3)
enquire_resp = pdu("enquire_link_resp", 3)
unbind = pdu("unbind", 4)
unbind_resp = pdu("unbind_resp", 4)

# ---- TCP/IP --------------------------------------------------------------------------------

SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10


def ip_bytes(addr):
    return bytes(int(x) for x in addr.split("."))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Endpoint:
    def __init__(self, host, isn):
        self.ip, self.port, self.mac = host
        self.seq = isn
        self.ip_id = isn & 0xFFFF


def frame(src, dst, seq, ack, flags, payload):
    tcp = struct.pack("!HHIIBBHHH", src.port, dst.port, seq, ack, 5 << 4, flags, 64240, 0, 0)
    pseudo = ip_bytes(src.ip) + ip_bytes(dst.ip) + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp + payload)) + tcp[18:]
    src.ip_id = (src.ip_id + 1) & 0xFFFF
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), src.ip_id, 0x4000,
                     64, 6, 0, ip_bytes(src.ip), ip_bytes(dst.ip))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst.mac + src.mac + b"\x08\x00" + ip + tcp + payload


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "sample.pcap")
    esme, smsc = Endpoint(ESME, 0x1A2B3C4D), Endpoint(SMSC, 0xFFFFFF00)  # SMSC seq wraps
    packets = []
    clock = [0]

    def at(ms):
        clock[0] += ms

    def send(src, dst, payload=b"", flags=PSH | ACK, seq=None, advance=True):
        s = src.seq if seq is None else seq
        packets.append((clock[0], frame(src, dst, s, dst.seq, flags, payload)))
        if advance:
            src.seq = (src.seq + len(payload) + (1 if flags & (SYN | FIN) else 0)) & 0xFFFFFFFF

    # RFC 793 §3.4 three-way handshake.
    send(esme, smsc, flags=SYN)
    at(1)
    send(smsc, esme, flags=SYN | ACK)
    at(1)
    send(esme, smsc, flags=ACK)
    at(2)
    send(esme, smsc, bind)
    at(15)
    send(smsc, esme, bind_resp)
    at(1)
    send(esme, smsc, flags=ACK)
    at(40)
    # submit_sm in two segments; the capture sees the second one first.
    cut = 30
    first_seq = esme.seq
    second_seq = (first_seq + cut) & 0xFFFFFFFF
    send(esme, smsc, submit[cut:], seq=second_seq, advance=False)
    at(1)
    send(esme, smsc, submit[:cut], seq=first_seq, advance=False)
    esme.seq = (first_seq + len(submit)) & 0xFFFFFFFF
    at(20)
    resp_seq = smsc.seq
    send(smsc, esme, submit_resp)
    at(200)
    send(smsc, esme, submit_resp, seq=resp_seq, advance=False)  # RFC 6298 retransmission
    at(1)
    send(esme, smsc, flags=ACK)
    at(900)
    send(smsc, esme, deliver)
    at(5)
    send(esme, smsc, deliver_resp + enquire)  # two PDUs in one segment
    at(3)
    send(smsc, esme, enquire_resp)
    at(500)
    send(esme, smsc, unbind)
    at(2)
    send(smsc, esme, unbind_resp)
    at(1)
    send(esme, smsc, flags=FIN | ACK)
    at(1)
    send(smsc, esme, flags=FIN | ACK)
    at(1)
    send(esme, smsc, flags=ACK)

    with open(out_path, "wb") as f:
        # Classic pcap, microsecond timestamps, LINKTYPE_ETHERNET.
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ms, data in packets:
            f.write(struct.pack("<IIII", T0 + ms // 1000, (ms % 1000) * 1000, len(data), len(data)))
            f.write(data)


if __name__ == "__main__":
    main()
