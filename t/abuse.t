#!/usr/bin/perl
# Abusive clients: slow and truncated bodies, pipelining, oversized headers,
# many concurrent maximum-size bodies. Nothing incomplete is forwarded, the
# worker stays up (same pid) and its memory stays bounded.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time sleep);
use SgSign::Test qw(error_ok json_decode);

my $t = SgSign::Test->new;
my $key = $t->rsa_key('partner');
$t->start_provider(public_key => $key->{pub});

my $sign = "sg_sign on; sg_sign_project test_project; sg_sign_key $key->{key};";

$t->start(<<"EOF", worker_connections => 1024);
    server {
        listen 127.0.0.1:$t->{port};
        client_body_timeout 1s;

        location = /api/v1/session/start/payout {
            $sign
            proxy_pass http://provider;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
EOF

my $PAYOUT = '/api/v1/session/start/payout';
my $port = $t->port;
my @workers = $t->worker_pids;
is scalar @workers, 1, 'one worker serves the tests' or diag "@workers";
my $worker = $workers[0];

sub worker_same {
    my ($what) = @_;
    my @now = $t->worker_pids;
    ok kill(0, $worker) && "@now" eq "$worker",
        "$what: the worker is still up (same pid $worker)"
        or diag "workers now: @now";
}

sub works {
    my ($what) = @_;
    $t->clear_upstream;
    my $res = $t->post('{"session_id":"after"}');
    is $res->status, 200, "$what: the next payout goes through";
    is $t->upstream_count, 1, "$what: and reaches the provider once";
}

sub connect_gw {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        Proto => 'tcp', Timeout => 5) or die "connect: $@\n";
    binmode $s;
    return $s;
}

# what arrives on $s within $timeout (until EOF)
sub drain {
    my ($s, $timeout) = @_;
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $deadline = time + $timeout;
    while ((my $left = $deadline - time) > 0) {
        last unless $sel->can_read($left);
        my $n = sysread $s, $buf, 65536, length $buf;
        return ($buf, 1) unless $n;
    }
    return ($buf, 0);
}

sub head_of {
    my ($body, %o) = @_;
    my $cl = $o{content_length} // length $body;
    return "POST $PAYOUT HTTP/1.1\r\nHost: localhost\r\n"
        . ($o{close} ? "Connection: close\r\n" : '')
        . "Content-Type: application/json\r\nContent-Length: $cl\r\n\r\n";
}

my $VALID = '{"session_id":"slow-1","amount_details":'
    . '{"amount":100,"currency":"usd"}}';


# ------------------------------------------------- slow bodies: 408

for my $case (['part of the body', int(length($VALID) / 2)],
    ['headers only', 0])
{
    my ($what, $sent) = @$case;
    $t->clear_upstream;
    my $s = connect_gw();
    syswrite $s, head_of($VALID, close => 1) . substr($VALID, 0, $sent);
    my $t0 = time;
    my ($got, $eof) = drain($s, 8 * $SgSign::Test::SLOW);
    my $took = time - $t0;
    close $s;
    my ($status) = $got =~ m{\AHTTP/1\.[01] (\d{3})};
    ok $eof && (!defined $status || $status eq '408'),
        "a client that sends $what and stalls gets 408 or a closed "
        . 'connection at client_body_timeout'
        or diag "eof=$eof got: $got";
    SKIP: {
        skip 'timing under a wrapper', 1 if SgSign::Test::instrumented();
        ok $took >= 0.9 && $took < 4,
            sprintf "$what: it happens after client_body_timeout 1s "
            . '(took %.2fs)', $took;
    }
    ok SgSign::Test::wait_for(sub { $t->access_log =~ /" 408 / }, 3),
        "$what: the access log records 408";
    is $t->upstream_count, 0, "$what: nothing reaches the provider";
}
worker_same('after slow bodies');


# ------------------------------------------------- truncated body, then close

for my $case (['half the body', int(length($VALID) / 2)],
    ['all but the last byte', length($VALID) - 1], ['no body', 0])
{
    my ($what, $sent) = @$case;
    $t->clear_upstream;
    my $off = length $t->access_log;
    my $s = connect_gw();
    syswrite $s, head_of($VALID, content_length => length($VALID) + 100)
        . substr($VALID, 0, $sent);
    sleep 0.1;
    close $s;
    # the request is finished (logged) once nginx saw the close
    ok SgSign::Test::wait_for(sub { length $t->access_log > $off },
        5 * $SgSign::Test::SLOW),
        "Content-Length longer than what arrives ($what), then a close: "
        . 'nginx ends the request';
    is $t->upstream_count, 0, "$what then a close: nothing is forwarded";
}
worker_same('after truncated bodies');
works('after truncated bodies');


# ------------------------------------------------- pipelining

# parses one HTTP response off the front of $$buf (Content-Length or
# chunked); returns it and removes it, or undef if incomplete
sub take_response {
    my ($buf) = @_;
    my $end = index $$buf, "\r\n\r\n";
    return undef if $end < 0;
    my $head = substr $$buf, 0, $end + 4;
    my ($cl) = $head =~ /^Content-Length:\s*(\d+)/mi;
    my $chunked = $head =~ /^Transfer-Encoding:\s*chunked/mi;
    my $rest = substr $$buf, $end + 4;
    my $len;
    if (defined $cl) {
        return undef if length $rest < $cl;
        $len = $cl;
    } elsif ($chunked) {
        my $p = 0;
        while (1) {
            my $e = index $rest, "\r\n", $p;
            return undef if $e < 0;
            my $size = hex substr $rest, $p, $e - $p;
            $p = $e + 2 + $size + 2;
            return undef if length $rest < $p;
            last if $size == 0;
        }
        $len = $p;
    } else {
        return undef;
    }
    my $raw = substr $$buf, 0, $end + 4 + $len, '';
    return SgSign::Test::Response->parse($raw);
}

{
    $t->clear_upstream;
    my @bodies = (
        qq({ "session_id" : "pipe-1", "amount_details" : )
            . qq({ "currency" : "USD", "amount" : 111 } }),
        qq({"metadata":{"z":1,"a":2.50},"session_id":"pipe-2"}),
        qq({"session_id":"pipe-3",}),
    );
    my @canonical = (
        '{"amount_details":{"amount":111,"currency":"usd"},'
            . '"session_id":"pipe-1"}',
        '{"metadata":{"a":2.5,"z":1},"session_id":"pipe-2"}',
    );
    # one write: a Content-Length body, a chunked body, an invalid body
    my $chunk1 = substr $bodies[1], 0, 10;
    my $chunk2 = substr $bodies[1], 10;
    my $wire = head_of($bodies[0]) . $bodies[0]
        . "POST $PAYOUT HTTP/1.1\r\nHost: localhost\r\n"
        . "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        . sprintf("%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", length $chunk1,
            $chunk1, length $chunk2, $chunk2)
        . head_of($bodies[2], close => 1) . $bodies[2];
    my $s = connect_gw();
    syswrite $s, $wire;
    my ($got, $eof) = drain($s, 10 * $SgSign::Test::SLOW);
    close $s;
    my @res;
    while (my $r = take_response(\$got)) {
        push @res, $r;
    }
    is scalar @res, 3, 'three pipelined requests in one write get three '
        . 'answers' or diag "left: $got";
    is $res[0] && $res[0]->status, 200, 'pipelined #1 (Content-Length) 200';
    my $j0 = $res[0] && $res[0]->json;
    is ref $j0 eq 'HASH' && $j0->{session}{id}, 'pipe-1',
        'pipelined #1 is answered first, with its own session';
    is $res[1] && $res[1]->status, 200, 'pipelined #2 (chunked) 200';
    my $j1 = $res[1] && $res[1]->json;
    is ref $j1 eq 'HASH' && $j1->{session}{id}, 'pipe-2',
        'pipelined #2 is answered second, with its own session';
    error_ok $res[2] // SgSign::Test::Response->new, 400, 'invalid_json',
        qr/offset 23/, 'pipelined #3 (invalid) is refused third with 400';
    my @up = $t->upstream_requests;
    is_deeply [map { $_->body } @up], \@canonical,
        'the provider received exactly the two valid canonical bodies, in '
        . 'order';
}
worker_same('after pipelining');


# ------------------------------------------------- oversized headers

for my $case (['a 64 KB header', "X-Big: " . ('a' x 65536) . "\r\n",
        qr/\A(?:400|494|431)\z/],
    ['200 headers of 1 KB', join('', map { "X-H$_: " . ('b' x 1024) . "\r\n" }
        1 .. 200), qr/\A(?:400|494|431)\z/],
    ['a 16 KB URI', undef, qr/\A414\z/])
{
    my ($what, $extra, $want) = @$case;
    $t->clear_upstream;
    my $path = defined $extra ? $PAYOUT : $PAYOUT . '?' . ('u' x 16384);
    my $res = $t->send_raw("POST $path HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\n" . ($extra // '')
        . "Content-Type: application/json\r\n"
        . "Content-Length: " . length($VALID) . "\r\n\r\n$VALID");
    like $res->status // 'none', $want,
        "$what is refused by nginx (" . ($res->status // 'no answer') . ')';
    is $t->upstream_count, 0, "$what: nothing is forwarded";
}
worker_same('after oversized headers');
works('after oversized headers');


# ------------------------------------------------- many concurrent big bodies

my $MAX = 64 * 1024;

# a canonical payout of about 60 KB (the limit is 64k)
sub big_body {
    my ($id, $len) = @_;
    my $frame = qq({"metadata":"","session_id":"$id"});
    return qq({"metadata":") . ('m' x ($len - length $frame))
        . qq(","session_id":"$id"});
}

# sends every request at once on its own connection (non-blocking), returns
# the responses in the same order (status undef: no complete answer)
sub concurrent {
    my ($timeout, @reqs) = @_;
    my (@st, %by_fd);
    my ($rsel, $wsel) = (IO::Select->new, IO::Select->new);
    for my $i (0 .. $#reqs) {
        my $s = connect_gw();
        $s->blocking(0);
        $st[$i] = { s => $s, req => $reqs[$i], off => 0, buf => '' };
        $by_fd{fileno $s} = $i;
        $rsel->add($s);
        $wsel->add($s);
    }
    local $SIG{PIPE} = 'IGNORE';
    my $deadline = time + $timeout;
    while ($rsel->count && time < $deadline) {
        my ($r, $w) = IO::Select->select($rsel, $wsel->count ? $wsel : undef,
            undef, 0.5);
        for my $s (@{ $w // [] }) {
            my $c = $st[$by_fd{fileno $s}];
            my $n = syswrite $s, $c->{req}, 65536, $c->{off};
            if (!defined $n) {
                $wsel->remove($s) unless $!{EAGAIN};
                next;
            }
            $c->{off} += $n;
            $wsel->remove($s) if $c->{off} >= length $c->{req};
        }
        for my $s (@{ $r // [] }) {
            my $c = $st[$by_fd{fileno $s}];
            my $n = sysread $s, $c->{buf}, 65536, length $c->{buf};
            next if !defined $n && $!{EAGAIN};
            if (!$n) {
                $rsel->remove($s);
                $wsel->remove($s);
                next;
            }
            my $res = SgSign::Test::Response->parse($c->{buf});
            if ($res && $res->{complete}) {
                $rsel->remove($s);
                $wsel->remove($s);
            }
        }
    }
    my @res;
    for my $c (@st) {
        close $c->{s};
        push @res, SgSign::Test::Response->parse($c->{buf})
            // SgSign::Test::Response->new(raw => $c->{buf});
    }
    return @res;
}

# one round of $n requests: returns (ok count, list of problems)
sub round {
    my ($tag, $n, $invalid_every) = @_;
    my (@reqs, @want);
    for my $i (1 .. $n) {
        my $id = "$tag-$i";
        my $body = big_body($id, 60 * 1024 + $i);
        my $bad = $invalid_every && $i % $invalid_every == 0;
        # an invalid one: the same size, one trailing comma near the end
        $body =~ s/"\}\z/",}/ if $bad;
        push @reqs, head_of($body, close => 1) . $body;
        push @want, $bad ? [400, undef] : [200, $id];
    }
    my @res = concurrent(30 * $SgSign::Test::SLOW, @reqs);
    my ($ok, @why) = (0);
    for my $i (0 .. $#res) {
        my ($status, $id) = @{ $want[$i] };
        my $r = $res[$i];
        my $j = $r->json;
        my $good = ($r->status // 0) == $status && ($status == 200
            ? ref $j eq 'HASH' && ($j->{status} // '') eq 'ok'
                && ref $j->{session} eq 'HASH' && $j->{session}{id} eq $id
            : ($r->error_code // '') eq 'invalid_json');
        if ($good) {
            $ok++;
        } else {
            push @why, "#$i: expected $status, got " . ($r->status // 'none')
                . ' ' . substr($r->body // '', 0, 120);
        }
    }
    return ($ok, @why);
}

{
    $t->clear_upstream;
    my $t0 = time;
    my ($ok, @why) = round('c', 64, 0);
    diag sprintf '64 concurrent ~60 KB payouts answered in %.2fs', time - $t0;
    is $ok, 64, '64 concurrent ~60 KB payouts are all answered 200 with '
        . 'their own session (the provider verified each signature)'
        or diag join "\n", @why[0 .. ($#why < 9 ? $#why : 9)];
    my @up = $t->upstream_requests;
    is scalar @up, 64, 'the provider received 64 payouts';
    my %seen;
    my $bad = grep {
        my ($id) = $_->body =~ /"session_id":"(c-\d+)"\}\z/;
        !defined $id || $seen{$id}++
            || $_->body ne big_body($id, 60 * 1024 + (split /-/, $id)[1])
    } @up;
    is $bad, 0, 'each received body is exactly the one sent (canonical '
        . 'already), none twice';
    ok length($up[0] ? $up[0]->body : '') < $MAX,
        'the bodies are under sg_sign_max_body_size';
}
worker_same('after 64 concurrent big bodies');

SKIP: {
    skip 'RSS is meaningless under a sanitizer or valgrind', 3
        if SgSign::Test::instrumented();

    # warm-up: pools, buffers, the upstream keepalive cache, temp files
    round('w1', 64, 8);
    round('w2', 64, 8);
    my $before = SgSign::Test::rss_kb($worker);
    my ($rounds, $total_ok, $n, @why) = (6, 0, 0);
    my $t0 = time;
    for my $r (1 .. $rounds) {
        $t->clear_upstream;
        my ($ok, @w) = round("m$r", 64, 8);
        $total_ok += $ok;
        $n += 64;
        push @why, @w;
    }
    my $took = time - $t0;
    my $after = SgSign::Test::rss_kb($worker);
    is $total_ok, $n, "$n more requests (~60 KB, 1 in 8 invalid) are all "
        . 'answered as expected'
        or diag join "\n", @why[0 .. ($#why < 9 ? $#why : 9)];
    diag sprintf 'worker %d VmRSS: %d kB after warm-up (128 requests), '
        . '%d kB after %d more (%.1fs); growth %d kB',
        $worker, $before, $after, $n, $took, $after - $before;
    ok defined $before && defined $after && $after - $before < 5 * 1024,
        'the worker\'s RSS grows less than 5 MB over those requests';
    worker_same('after the RSS rounds');
}

{
    my $log = $t->error_log;
    my @bad = grep { /exited on signal|\[alert\]|\[emerg\]/ } split /\n/, $log;
    ok !@bad, 'no worker crashed, no alert in the error log'
        or diag join "\n", @bad;
}

done_testing;
