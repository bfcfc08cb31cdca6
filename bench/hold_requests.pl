#!/usr/bin/perl
# Holds requests open in an nginx worker and reports how much memory the
# worker gained per held request, location by location (bench/held_memory.sh).
#
#   hold_requests.pl --port P --worker PID --record-dir DIR --body FILE
#                    [--count 48] [--warmup 2] [--warmup-body FILE]
#                    [--prehold 4] [--timeout 30] PATH...
#
# The upstream behind every PATH is t/lib/mock_provider.pl --mode hang
# recording into DIR: it reads each request whole, records it, and never
# answers, so a request the mock has recorded is one the worker has read,
# processed and forwarded, and now only waits on.
#
# First, for each PATH: --warmup times, one request with --warmup-body
# (default: --body) is held and released: lazy allocations, first use of
# each code path.  A small warm-up body is better: what a released request
# frees stays in the worker's heap and the next batch reuses it, which would
# make that batch look smaller than it is.
#
# Then, for each PATH in turn, without releasing anything:
#   - --prehold requests (4) with --body are held, not measured: they take
#     the heap to one request's passing peak (memory a request uses while
#     it is processed and frees before it is forwarded, e.g. a temporary
#     pool), which every later request reuses;
#   - the worker's memory is read (/proc/PID/status, once it stops moving);
#   - --count requests (48) with --body are sent on as many connections and
#     held until the mock has recorded all of them;
#   - the memory is read again.
# So each figure is what --count more waiting requests keep, fresh growth:
# nothing measured reuses memory an earlier release freed.  At the end every
# connection is closed (nginx then closes its upstream side).
#
# Prints one line per PATH:
#   PATH count rss_before rss_after anon_before anon_after body_bytes signed
# (kB, VmRSS and RssAnon; body_bytes: the mean size of the bodies the mock
# recorded for that PATH's batch, i.e. the canonical body behind sg_sign;
# signed: how many of them carried X-PARTNER-SIGN).  Exits 1 if a held request was
# answered or not all were recorded within --timeout seconds, dies if the
# worker is gone.  Loopback only, each wait bounded.  Core Perl only.

use strict;
use warnings;

use Getopt::Long qw(GetOptions);
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

my %o = (count => 48, warmup => 2, prehold => 4, timeout => 30);
GetOptions(\%o, 'port=i', 'worker=i', 'record-dir=s', 'body=s', 'count=i',
    'warmup=i', 'warmup-body=s', 'prehold=i', 'timeout=i')
    && $o{port} && $o{worker} && $o{'record-dir'} && $o{body} && @ARGV
    or die "usage: $0 --port P --worker PID --record-dir DIR --body FILE"
    . " [--count N] [--warmup N] [--warmup-body FILE] [--prehold N]"
    . " [--timeout S] PATH...\n";

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!\n";
    local $/;
    return scalar <$fh>;
}

my $body = slurp($o{body});
my $warmup_body = defined $o{'warmup-body'} ? slurp($o{'warmup-body'})
    : $body;

$SIG{PIPE} = 'IGNORE';
my $failed = 0;

sub fail {
    print STDERR "hold_requests: @_\n";
    $failed = 1;
}

sub status {
    my $s = do {
        open my $fh, '<', "/proc/$o{worker}/status" or return undef;
        local $/;
        <$fh>;
    };
    my %m;
    for my $k (qw(VmRSS RssAnon)) {
        $m{$k} = $s =~ /^$k:\s+(\d+)\s+kB/m ? $1 : 0;
    }
    return \%m;
}

# the worker's memory once it stops moving (two equal readings 50 ms apart,
# at most 1 s): the last allocations of the last request may trail its
# forwarding by a moment
sub settled {
    my $prev = status() or return undef;
    for (1 .. 20) {
        sleep 0.05;
        my $now = status() or return undef;
        return $now if $now->{RssAnon} == $prev->{RssAnon}
            && $now->{VmRSS} == $prev->{VmRSS};
        $prev = $now;
    }
    return $prev;
}

# recorded requests: [n, head, body size]
sub recorded {
    opendir my $dh, $o{'record-dir'} or return ();
    my @r;
    for my $n (sort { $a <=> $b } map { /\A(\d+)\.head\z/ ? $1 : () }
        readdir $dh)
    {
        my $h = "$o{'record-dir'}/$n.head";
        open my $fh, '<:raw', $h or next;
        local $/;
        my $head = <$fh>;
        push @r, [$n, $head, -s "$o{'record-dir'}/$n.body" // 0];
    }
    return @r;
}

sub wait_recorded {
    my ($want) = @_;
    my $deadline = time + $o{timeout};
    while (time < $deadline) {
        my @r = recorded();
        return @r if @r >= $want;
        sleep 0.02;
    }
    return recorded();
}

sub open_request {
    my ($path, $body) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $o{port}, Proto => 'tcp', Timeout => 5)
        or die "connect 127.0.0.1:$o{port}: $@\n";
    binmode $s;
    my $req = "POST $path HTTP/1.1\r\nHost: localhost\r\n"
        . "Content-Type: application/json\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n" . $body;
    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite $s, $req, length($req) - $off, $off;
        die "write to 127.0.0.1:$o{port}: $!\n" unless $n;
        $off += $n;
    }
    return $s;
}

# a held request must not have been answered (a refusal, a 502...)
sub answered {
    my (@socks) = @_;
    my $sel = IO::Select->new(@socks);
    my $n = 0;
    for my $s ($sel->can_read(0)) {
        my $got = sysread $s, my $buf, 512;
        $n++;
        fail('a held request was answered: '
            . (defined $got && $got ? (split /\r\n/, $buf)[0] : 'closed'));
    }
    return $n;
}

my $seen = () = recorded();

for my $path (@ARGV) {
    for (1 .. $o{warmup}) {
        my $s = open_request($path, $warmup_body);
        my @r = wait_recorded(++$seen);
        fail("warm-up request to $path not forwarded") if @r < $seen;
        answered($s);
        close $s;
        sleep 0.1;
    }
}

my (@held, @lines);
for my $path (@ARGV) {
    # held, not measured: the heap reaches one request's passing peak
    for (1 .. $o{prehold}) {
        push @held, open_request($path, $body);
        my @r = wait_recorded(++$seen);
        fail("pre-held request to $path not forwarded") if @r < $seen;
    }
    my $before = settled() or die "worker $o{worker} is gone\n";
    my @socks = map { open_request($path, $body) } 1 .. $o{count};
    push @held, @socks;
    my @r = wait_recorded($seen + $o{count});
    fail("$path: " . (@r - $seen) . " of $o{count} requests forwarded "
        . "within $o{timeout}s") if @r < $seen + $o{count};
    my $after = settled() or die "worker $o{worker} is gone\n";

    my @mine = @r[$seen .. $#r];
    $seen = @r;
    my ($bytes, $signed) = (0, 0);
    for (@mine) {
        $bytes += $_->[2];
        $signed++ if $_->[1] =~ /^X-PARTNER-SIGN:/mi;
    }
    push @lines, join ' ', $path, $o{count},
        (map { ($before->{$_}, $after->{$_}) } qw(VmRSS RssAnon)),
        @mine ? sprintf('%.0f', $bytes / @mine) : 0, $signed;
}

answered(@held);
close $_ for @held;
print "$_\n" for @lines;
exit $failed;
