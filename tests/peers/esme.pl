#!/usr/bin/perl
# An ESME built on Net::SMPP (Debian libnet-smpp-perl), doing what esme.js does: bind_transceiver,
# an enquire_link, N submit_sm with a window, every submit_sm_resp checked (ESME_ROK, a non-empty
# message_id seen once), the delivery receipts matched to those message_ids, unbind. Prints one
# JSON summary line on stdout; exits 0 only when every check held, 1 on any mismatch or timeout,
# 2 on a usage error. Net::SMPP is used in its asynchronous mode under one select() loop with a
# deadline, and the socket has receive and send timeouts, so no call blocks past --timeout-ms.
use strict;
use warnings;
use Getopt::Long qw(GetOptionsFromArray);
use IO::Select;
use JSON::PP;
use Net::SMPP;
use Socket qw(SOL_SOCKET SO_RCVTIMEO SO_SNDTIMEO);
use Time::HiRes qw(time);

my $usage = <<'END';
usage: esme.pl --port N [options]

A Net::SMPP ESME: binds as a transceiver, submits messages, checks every response and
matches the delivery receipts to the responses' message_ids.

  --host H            SMSC or router address (default 127.0.0.1)
  --port N            its port (required)
  --system-id ID      bind system_id (default esme)
  --password PW       bind password (default secret)
  --count N           submit_sm to send (default 200)
  --window N          outstanding submit_sm at most (default 10)
  --destination D     destination_addr (default 447900000002)
  --no-receipts       registered_delivery 0 and no wait for receipts
  --timeout-ms N      hard bound on the whole run (default 30000)
  --help              print this help

JSON: the same keys as esme.js. Exit status: 0 every check held, 1 some did not, 2 usage error.
END

my %opt = (
    host => '127.0.0.1', 'system-id' => 'esme', password => 'secret', count => 200,
    window => 10, destination => '447900000002', 'timeout-ms' => 30000,
);
my $parsed = GetOptionsFromArray(\@ARGV, \%opt, 'host=s', 'port=i', 'system-id=s', 'password=s',
    'count=i', 'window=i', 'destination=s', 'no-receipts', 'timeout-ms=i', 'help|h');
if ($parsed && $opt{help}) { print $usage; exit 0; }
my $why = !$parsed ? 'invalid options'
        : @ARGV ? "unexpected argument $ARGV[0]"
        : !defined $opt{port} ? '--port is required'
        : ($opt{port} < 1 || $opt{port} > 65535) ? '--port: 1..65535'
        : ($opt{count} < 0 || $opt{window} < 1 || $opt{'timeout-ms'} < 1) ? 'negative or zero bound'
        : undef;
if (defined $why) { print STDERR "esme.pl: $why\n$usage"; exit 2; }

my $want_receipts = !$opt{'no-receipts'};
my $deadline = time + $opt{'timeout-ms'} / 1000;

my %summary = (
    peer => "Net::SMPP $Net::SMPP::VERSION", bound => JSON::PP::false, bind_status => undef,
    enquire_link_ok => JSON::PP::false, sent => 0, resp_ok => 0, resp_errors => {},
    message_ids => 0, receipts => 0, receipts_matched => 0, receipts_unmatched => 0,
    receipts_duplicate => 0, receipts_text_mismatch => 0, receipts_bad => 0,
    enquire_links_answered => 0, unbound => JSON::PP::false, timed_out => JSON::PP::false,
    ok => JSON::PP::false, failures => [],
);
sub fail { push @{$summary{failures}}, $_[0] if @{$summary{failures}} < 20; }

sub status_name {
    my ($code) = @_;
    my $entry = Net::SMPP::status_code->{$code};
    return $entry ? $entry->{code} : sprintf('0x%08x', $code);
}

sub finish {
    my $n = $opt{count};
    fail("sent $summary{sent} of $n") if $summary{sent} != $n;
    fail("$summary{resp_ok} of $n submit_sm_resp ESME_ROK") if $summary{resp_ok} != $n;
    fail('message_ids missing or repeated') if $summary{message_ids} != $summary{resp_ok};
    if ($want_receipts && $summary{receipts_matched} != $summary{message_ids}) {
        fail("$summary{receipts_matched} of $summary{message_ids} receipts matched");
    }
    if ($summary{receipts_unmatched} + $summary{receipts_duplicate}
        + $summary{receipts_text_mismatch} + $summary{receipts_bad}) {
        fail('receipts that match no response, twice, or inconsistently');
    }
    fail('receipts that were not asked for') if !$want_receipts && $summary{receipts};
    my $ok = $summary{bound} && $summary{enquire_link_ok} && $summary{unbound}
        && !$summary{timed_out} && !@{$summary{failures}};
    $summary{ok} = $ok ? JSON::PP::true : JSON::PP::false;
    print JSON::PP->new->canonical->encode(\%summary), "\n";
    exit($ok ? 0 : 1);
}

my $smpp = Net::SMPP->new_connect($opt{host}, port => $opt{port}, timeout => 5, async => 1,
    smpp_version => 0x34, system_id => $opt{'system-id'}, password => $opt{password});
if (!$smpp) { fail("cannot connect to $opt{host}:$opt{port}: $!"); finish(); }
# A stalled peer makes sysread/syswrite fail after 2 s instead of blocking for ever.
my $two_seconds = pack('l!l!', 2, 0);
setsockopt($smpp, SOL_SOCKET, SO_RCVTIMEO, $two_seconds) or die "SO_RCVTIMEO: $!";
setsockopt($smpp, SOL_SOCKET, SO_SNDTIMEO, $two_seconds) or die "SO_SNDTIMEO: $!";
my $select = IO::Select->new($smpp);

# Reads the next PDU, or undef when the deadline passes or the connection fails.
sub next_pdu {
    while (1) {
        my $left = $deadline - time;
        if ($left <= 0) {
            $summary{timed_out} = JSON::PP::true;
            fail("timed out after $opt{'timeout-ms'} ms");
            return undef;
        }
        next if !$select->can_read($left < 0.2 ? $left : 0.2);
        my $pdu = $smpp->read_pdu();
        fail('connection lost: ' . (${*$smpp}{smpperror} // 'eof')) if !$pdu;
        return $pdu;
    }
}

my %ids;  # message_id -> 0 open, 1 receipted
my %open_seq;  # submit_sm sequence numbers awaiting a response
my ($bind_seq, $enquire_seq, $unbind_seq);

# Requests from the peer are answered wherever they arrive; returns 1 when $pdu was one.
sub serve_request {
    my ($pdu) = @_;
    if ($pdu->{cmd} == Net::SMPP::CMD_enquire_link) {
        ++$summary{enquire_links_answered};
        $smpp->enquire_link_resp(seq => $pdu->{seq});
        return 1;
    }
    if ($pdu->{cmd} == Net::SMPP::CMD_unbind) {
        fail('unbound by the peer');
        $smpp->unbind_resp(seq => $pdu->{seq});
        finish();
    }
    if ($pdu->{cmd} == Net::SMPP::CMD_deliver_sm) {
        $smpp->deliver_sm_resp(seq => $pdu->{seq}, message_id => '');
        # SMPP 3.4 §5.2.12: esm_class bits 5..2 = 0001 marks an SMSC delivery receipt.
        if ((($pdu->{esm_class} // 0) & 0x3c) != 0x04) {
            fail('deliver_sm that is not a delivery receipt');
            ++$summary{receipts_bad};
            return 1;
        }
        ++$summary{receipts};
        my $tlv_id = $pdu->{receipted_message_id};
        $tlv_id =~ s/\0.*//s if defined $tlv_id;
        $tlv_id = undef if defined $tlv_id && $tlv_id eq '';
        my ($text_id) = ($pdu->{short_message} // '') =~ /(?:^|\s)id:(\S+)/;
        if (defined $tlv_id && defined $text_id && $tlv_id ne $text_id) {
            ++$summary{receipts_text_mismatch};
            fail("receipt text id $text_id != receipted_message_id $tlv_id");
        }
        my $id = $tlv_id // $text_id // '';
        if (!exists $ids{$id}) {
            ++$summary{receipts_unmatched};
            fail("receipt for unknown message_id '$id'");
        } elsif ($ids{$id}) {
            ++$summary{receipts_duplicate};
        } else {
            $ids{$id} = 1;
            ++$summary{receipts_matched};
        }
        return 1;
    }
    return 0;
}

# Waits for the response to request $seq, serving the peer's requests meanwhile.
sub wait_response {
    my ($seq) = @_;
    while (my $pdu = next_pdu()) {
        next if serve_request($pdu);
        return $pdu if $pdu->{seq} == $seq && ($pdu->{cmd} & 0x80000000);
        fail(sprintf('unexpected PDU 0x%08x seq %d', $pdu->{cmd}, $pdu->{seq}));
    }
    finish();
}

$bind_seq = $smpp->bind_transceiver();
my $bind = wait_response($bind_seq);
$summary{bind_status} = status_name($bind->{status});
if ($bind->{status} != 0) { fail("bind refused: $summary{bind_status}"); finish(); }
$summary{bound} = JSON::PP::true;

$enquire_seq = $smpp->enquire_link();
my $enquire = wait_response($enquire_seq);
$summary{enquire_link_ok} = $enquire->{status} == 0 ? JSON::PP::true : JSON::PP::false;
fail('enquire_link_resp ' . status_name($enquire->{status})) if $enquire->{status} != 0;

sub submit_more {
    while ($summary{sent} < $opt{count} && keys(%open_seq) < $opt{window}) {
        my $n = ++$summary{sent};
        my $seq = $smpp->submit_sm(
            source_addr_ton => 5,  # alphanumeric, SMPP 3.4 §5.2.5
            source_addr => 'perlesme',
            dest_addr_ton => 1,  # international
            dest_addr_npi => 1,  # E.164
            destination_addr => $opt{destination},
            registered_delivery => $want_receipts ? 1 : 0,
            data_coding => 0,
            short_message => "Net::SMPP message $n",
        );
        $open_seq{$seq} = 1;
    }
}

submit_more();
while (keys %open_seq || ($want_receipts && $summary{receipts_matched} < $summary{message_ids})) {
    last if @{$summary{failures}};
    my $pdu = next_pdu() or finish();
    next if serve_request($pdu);
    if ($pdu->{cmd} == Net::SMPP::CMD_submit_sm_resp && delete $open_seq{$pdu->{seq}}) {
        if ($pdu->{status} != 0) {
            ++$summary{resp_errors}{status_name($pdu->{status})};
        } else {
            ++$summary{resp_ok};
            my $id = $pdu->{message_id} // '';
            if ($id eq '') {
                fail('submit_sm_resp ESME_ROK without a message_id');
            } elsif (exists $ids{$id}) {
                fail("message_id $id given twice");
            } else {
                $ids{$id} = 0;
                ++$summary{message_ids};
            }
        }
        submit_more();
        next;
    }
    fail(sprintf('unexpected PDU 0x%08x seq %d', $pdu->{cmd}, $pdu->{seq}));
}
finish() if @{$summary{failures}};

$unbind_seq = $smpp->unbind();
my $unbind = wait_response($unbind_seq);
$summary{unbound} = $unbind->{status} == 0 ? JSON::PP::true : JSON::PP::false;
finish();
