#!/usr/bin/perl
# A stand-in for the Smart Glocal API: answers like the provider, verifies
# X-PARTNER-SIGN, and records every request exactly as it arrived.
#
#   mock_provider.pl --listen 127.0.0.1:PORT [--public-key pub.pem]
#                    [--encoding base64|hex] [--record-dir DIR] [--pid-file F]
#                    [--mode answer|hang|drop]
#
# Modes (faults a real provider can show), each after recording the request:
#   answer  (default) answer like the provider;
#   hang    read the whole request, then never answer: wait until the client
#           (nginx, at proxy_read_timeout) closes the connection;
#   drop    read the whole request, then close the connection without a
#           byte of answer.
# In answer mode a request header `X-Mock-Status: NNN` makes the mock answer
# with that status and a provider error body (or, with `X-Mock-Body: <base64>`,
# exactly those bytes), whatever the signature: the provider's own 4xx/5xx.
#
# Record mode writes DIR/N.head (request line + headers, raw) and DIR/N.body
# (the exact body bytes; a chunked body is de-chunked, the head still shows
# Transfer-Encoding), each written to a temporary name and renamed, body
# first, so a test that sees N.head sees the whole request.  Core Perl only;
# signatures are checked with the openssl CLI (not the module's code).

use strict;
use warnings;

use Getopt::Long qw(GetOptions);
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use MIME::Base64 qw(decode_base64);
use POSIX qw(:errno_h);
use File::Temp qw(tempdir);
use Fcntl qw(O_CREAT O_EXCL O_WRONLY);

my %opt = (encoding => 'base64');
GetOptions(\%opt, 'listen=s', 'public-key=s', 'encoding=s', 'record-dir=s',
    'pid-file=s', 'idle-timeout=i', 'mode=s')
    or die "usage: $0 --listen 127.0.0.1:PORT [--public-key pub.pem]"
    . " [--encoding base64|hex] [--record-dir DIR] [--pid-file FILE]\n";
die "--listen is required\n" unless $opt{listen};
die "--encoding must be base64 or hex\n"
    unless $opt{encoding} =~ /\A(?:base64|hex)\z/;
my $mode = $opt{mode} // 'answer';
die "--mode must be answer, hang or drop\n"
    unless $mode =~ /\A(?:answer|hang|drop)\z/;

our %REASON = (200 => 'OK', 400 => 'Bad Request', 401 => 'Unauthorized',
    403 => 'Forbidden', 404 => 'Not Found', 409 => 'Conflict',
    422 => 'Unprocessable Entity', 429 => 'Too Many Requests',
    500 => 'Internal Server Error', 502 => 'Bad Gateway',
    503 => 'Service Unavailable', 504 => 'Gateway Timeout');

my $idle = $opt{'idle-timeout'} // 60;
my $work = tempdir('sg-mock-XXXXXX', TMPDIR => 1, CLEANUP => 0);
my $parent = $$;

my $server = IO::Socket::INET->new(
    LocalAddr => $opt{listen},
    Listen    => 128,
    ReuseAddr => 1,
    Proto     => 'tcp',
) or die "mock: cannot listen on $opt{listen}: $@\n";

if ($opt{'pid-file'}) {
    # written after listen(): a test that sees the pid file can connect
    my $tmp = "$opt{'pid-file'}.tmp$$";
    open my $fh, '>', $tmp or die "mock: $tmp: $!\n";
    print {$fh} "$$\n";
    close $fh;
    rename $tmp, $opt{'pid-file'} or die "mock: rename: $!\n";
}

$SIG{CHLD} = 'IGNORE';
$SIG{PIPE} = 'IGNORE';
$SIG{TERM} = $SIG{INT} = sub { cleanup(); exit 0 };

sub cleanup {
    return unless $$ == $parent;
    system('rm', '-rf', $work);
    unlink $opt{'pid-file'} if $opt{'pid-file'};
}

END { cleanup() }

print STDERR "mock: listening on $opt{listen}\n";

while (1) {
    my $conn = $server->accept or do {
        next if $! == EINTR;
        die "mock: accept: $!\n";
    };
    my $pid = fork;
    if (!defined $pid) {
        warn "mock: fork: $!\n";
        close $conn;
        next;
    }
    if ($pid == 0) {
        $SIG{TERM} = $SIG{INT} = $SIG{CHLD} = 'DEFAULT';
        close $server;
        serve($conn);
        POSIX::_exit(0);
    }
    close $conn;
}


# one connection: as many requests as the client sends (keep-alive)
sub serve {
    my ($conn) = @_;
    binmode $conn;
    my $sel = IO::Select->new($conn);
    my $buf = '';

    my $fill = sub {
        return 0 unless $sel->can_read($idle);
        my $n = sysread $conn, $buf, 65536, length $buf;
        return $n ? 1 : 0;
    };

    while (1) {
        my $end;
        until (($end = index $buf, "\r\n\r\n") >= 0) {
            return unless $fill->();
        }
        my $head = substr $buf, 0, $end + 4, '';
        my ($line, @lines) = split /\r\n/, $head;
        my ($method, $path, $proto) = split / /, $line // '';
        $proto //= 'HTTP/1.0';
        my @headers;
        for (@lines) {
            my ($n, $v) = /\A([^:]+):[ \t]*(.*?)[ \t]*\z/ or next;
            push @headers, [lc $n, $v];
        }
        my $get = sub {
            my ($n) = @_;
            return map { $_->[1] } grep { $_->[0] eq $n } @headers;
        };

        my $body = '';
        my ($te) = $get->('transfer-encoding');
        my ($cl) = $get->('content-length');
        if (defined $te && $te =~ /chunked/i) {
            while (1) {
                my $e;
                until (($e = index $buf, "\r\n") >= 0) {
                    return unless $fill->();
                }
                my $size_line = substr $buf, 0, $e + 2, '';
                my ($hex) = $size_line =~ /\A([0-9a-fA-F]+)/ or return;
                my $size = hex $hex;
                if ($size == 0) {
                    # trailers, up to the empty line
                    until (($e = index $buf, "\r\n") >= 0) {
                        return unless $fill->();
                    }
                    while ($e > 0) {
                        substr $buf, 0, $e + 2, '';
                        until (($e = index $buf, "\r\n") >= 0) {
                            return unless $fill->();
                        }
                    }
                    substr $buf, 0, 2, '';
                    last;
                }
                while (length $buf < $size + 2) {
                    return unless $fill->();
                }
                $body .= substr $buf, 0, $size;
                substr $buf, 0, $size + 2, '';
            }
        } elsif (defined $cl) {
            return unless $cl =~ /\A\d+\z/;
            while (length $buf < $cl) {
                return unless $fill->();
            }
            $body = substr $buf, 0, $cl, '';
        }

        record($head, $body) if $opt{'record-dir'};

        if ($mode eq 'drop') {
            print STDERR "mock: ", ($method // '-'), " ", ($path // '-'),
                " dropped (closed without answering)\n";
            close $conn;
            return;
        }
        if ($mode eq 'hang') {
            print STDERR "mock: ", ($method // '-'), " ", ($path // '-'),
                " hanging (no answer)\n";
            # until the client gives up; whatever else it sends is ignored
            1 while $sel->can_read($idle) && sysread $conn, my $junk, 65536;
            return;
        }

        my ($status, $json, $verdict) = answer(\@headers, $get, $body);
        my ($forced) = $get->('x-mock-status');
        if (defined $forced && $forced =~ /\A[1-5]\d\d\z/) {
            my ($b64) = $get->('x-mock-body');
            $status = $forced;
            $json = defined $b64 ? decode_base64($b64)
                : error_json("mock_$forced", "the provider answers $forced");
            $verdict = "forced by X-Mock-Status";
        }
        my ($conn_hdr) = $get->('connection');
        my $close = ($proto eq 'HTTP/1.0' && !(defined $conn_hdr
                && $conn_hdr =~ /keep-alive/i))
            || (defined $conn_hdr && $conn_hdr =~ /close/i);

        print STDERR "mock: ", ($method // '-'), " ", ($path // '-'),
            " $status $verdict\n";

        my $reason = $REASON{$status} // 'Status';
        my $resp = "HTTP/1.1 $status $reason\r\n"
            . "Content-Type: application/json\r\n"
            . "Content-Length: " . length($json) . "\r\n"
            . ($close ? "Connection: close\r\n" : "Connection: keep-alive\r\n")
            . "\r\n" . $json;
        my $off = 0;
        while ($off < length $resp) {
            my $n = syswrite $conn, $resp, length($resp) - $off, $off;
            return unless $n;
            $off += $n;
        }
        return if $close;
    }
}


sub record {
    my ($head, $body) = @_;
    my $dir = $opt{'record-dir'};
    my $n = 1;
    # claim a number atomically: connections are served in parallel
    until (sysopen my $fh, "$dir/$n.claim", O_CREAT | O_EXCL | O_WRONLY) {
        $n++;
    }
    for ([body => $body], [head => $head]) {
        my ($ext, $data) = @$_;
        my $tmp = "$dir/.$n.$ext.tmp";
        open my $fh, '>:raw', $tmp or die "mock: $tmp: $!\n";
        print {$fh} $data;
        close $fh or die "mock: $tmp: $!\n";
        rename $tmp, "$dir/$n.$ext" or die "mock: rename $tmp: $!\n";
    }
}


sub error_json {
    my ($code, $description) = @_;
    return '{"status":"error","error":{"code":"' . $code
        . '","description":"' . $description . '"}}';
}


sub answer {
    my ($headers, $get, $body) = @_;

    for my $h ('X-PARTNER-PROJECT', 'X-PARTNER-SIGN') {
        my @v = $get->(lc $h);
        if (!@v) {
            return (401, error_json('unauthorized', "missing $h"),
                "unauthorized (missing $h)");
        }
    }

    if ($opt{'public-key'}) {
        my @sig = $get->('x-partner-sign');
        if (@sig != 1 || !verify($sig[0], $body)) {
            return (401, error_json('invalid_signature',
                    'signature does not match the request body'),
                'invalid_signature');
        }
    }

    my $sid = '3230';
    my $data = eval { JSON::PP->new->decode($body) };
    if (ref $data eq 'HASH' && defined $data->{session_id}
        && !ref $data->{session_id})
    {
        $sid = $data->{session_id};
    }
    my $resp = {
        status  => 'ok',
        session => {
            id         => "$sid",
            status     => 'in_progress',
            created_at => '2018-05-27T02:03:00.000000Z',
            updated_at => '2018-05-27T02:03:00.000000Z',
            payments   => [{
                id         => '2018',
                status     => 'in_progress',
                created_at => '2018-05-27T02:03:00.000000Z',
                customer   => {
                    reference => 'user123',
                    contacts  => [{ email => 'user@gmail.com' }],
                },
                payment_method => {
                    type => 'card',
                    card => { last4 => '4242', brand => 'visa' },
                },
                amount_details => { amount => 10000, currency => 'usd' },
                metadata       => 'good',
            }],
        },
    };
    return (200, JSON::PP->new->canonical->encode($resp),
        $opt{'public-key'} ? 'ok (signature verified)' : 'ok (not verified)');
}


sub verify {
    my ($text, $body) = @_;
    my $sig;
    if ($opt{encoding} eq 'hex') {
        return 0 unless $text =~ /\A(?:[0-9a-fA-F]{2})+\z/;
        $sig = pack 'H*', $text;
    } else {
        return 0 unless $text =~ m{\A[A-Za-z0-9+/]+={0,2}\z};
        $sig = decode_base64($text);
    }
    my ($sf, $bf) = ("$work/sig.$$", "$work/body.$$");
    for ([$sf, $sig], [$bf, $body]) {
        open my $fh, '>:raw', $_->[0] or return 0;
        print {$fh} $_->[1];
        close $fh;
    }
    local $SIG{CHLD} = 'DEFAULT';
    my $pid = fork;
    if (defined $pid && $pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        no warnings 'exec';
        exec 'openssl', 'dgst', '-sha256', '-verify', $opt{'public-key'},
            '-signature', $sf, $bf;
        POSIX::_exit(127);
    }
    return 0 unless defined $pid;
    waitpid $pid, 0;
    my $ok = $? == 0;
    unlink $sf, $bf;
    return $ok;
}
