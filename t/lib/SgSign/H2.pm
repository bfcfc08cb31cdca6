package SgSign::H2;

# A minimal HTTP/2 cleartext client for the tests (h2c with prior
# knowledge), core Perl only.  Just enough to send requests on chosen
# streams, cancel them mid-flight and read the answers:
#
#   my $h2 = SgSign::H2->new($port);
#   $h2->request(1, 'POST', '/path', [['content-type', 'x']], $body);
#   $h2->rst(1);                           # RST_STREAM(CANCEL)
#   my $res = $h2->response(3, 5);         # { status, body, rst, ... }
#   $h2->goaway; $h2->close;
#
# Header blocks are sent as HPACK literals without indexing and without
# Huffman coding, so no encoder state is needed.  Responses are decoded just
# far enough for :status (nginx sends it indexed or as a literal with an
# indexed name); the rest of a header block is kept raw.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);

use constant {
    DATA => 0, HEADERS => 1, RST_STREAM => 3, SETTINGS => 4, PING => 6,
    GOAWAY => 7, WINDOW_UPDATE => 8, CONTINUATION => 9,
    END_STREAM => 0x1, ACK => 0x1, END_HEADERS => 0x4,
    CANCEL => 0x8,
};

# HPACK static table entries nginx uses for :status
my %STATUS_INDEX = (8 => 200, 9 => 204, 10 => 206, 11 => 304, 12 => 400,
    13 => 404, 14 => 500);

sub new {
    my ($class, $port) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $port, Proto => 'tcp', Timeout => 5)
        or die "h2: connect to $port: $@\n";
    binmode $sock;
    my $self = bless { sock => $sock, buf => '', streams => {},
        eof => 0 }, $class;
    $self->_write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    $self->frame(SETTINGS, 0, 0, '');
    return $self;
}

sub _write {
    my ($self, $data) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite($self->{sock}, $data, length($data) - $off, $off);
        return 0 unless defined $n;
        $off += $n;
    }
    return 1;
}

sub frame {
    my ($self, $type, $flags, $sid, $payload) = @_;
    my $len = length $payload;
    return $self->_write(pack('CnCCN', $len >> 16, $len & 0xffff, $type,
        $flags, $sid & 0x7fffffff) . $payload);
}

# HPACK integer with an N-bit prefix (RFC 7541 5.1)
sub _int {
    my ($first, $bits, $v) = @_;
    my $max = (1 << $bits) - 1;
    return chr($first | $v) if $v < $max;
    my $out = chr($first | $max);
    $v -= $max;
    while ($v >= 128) {
        $out .= chr(($v & 0x7f) | 0x80);
        $v >>= 7;
    }
    return $out . chr($v);
}

sub _str { my ($s) = @_; return _int(0, 7, length $s) . $s }

# literal header field without indexing, new name (0x00)
sub _literal { my ($n, $v) = @_; return "\x00" . _str(lc $n) . _str($v) }

# HEADERS (END_HEADERS; END_STREAM when there is no body), then the body
# in one DATA frame with END_STREAM.  $headers: [[name, value], ...].
sub request {
    my ($self, $sid, $method, $path, $headers, $body) = @_;
    my $block = _literal(':method', $method) . _literal(':scheme', 'http')
        . _literal(':path', $path) . _literal(':authority', 'localhost');
    $block .= _literal(@$_) for @{ $headers // [] };
    my $has_body = defined $body && length $body;
    $self->frame(HEADERS, END_HEADERS | ($has_body ? 0 : END_STREAM), $sid,
        $block);
    $self->frame(DATA, END_STREAM, $sid, $body) if $has_body;
    $self->{streams}{$sid} = { data => '', headers => '' };
}

sub rst {
    my ($self, $sid, $code) = @_;
    return $self->frame(RST_STREAM, 0, $sid, pack('N', $code // CANCEL));
}

sub goaway {
    my ($self, $last, $code) = @_;
    return $self->frame(GOAWAY, 0, 0, pack('NN', $last // 0, $code // 0));
}

sub close { my ($self) = @_; close $self->{sock} if $self->{sock} }

# Reads and handles frames for at most $timeout s or until $done->()
# returns true.  Acks SETTINGS, answers PING; records per-stream HEADERS,
# DATA, END_STREAM and RST_STREAM, and the connection's GOAWAY and EOF.
sub pump {
    my ($self, $timeout, $done) = @_;
    my $deadline = time + $timeout;
    my $sel = IO::Select->new($self->{sock});
    while (1) {
        while (length $self->{buf} >= 9) {
            my ($l1, $l2, $type, $flags, $sid) =
                unpack 'CnCCN', $self->{buf};
            my $len = ($l1 << 16) | $l2;
            last if length $self->{buf} < 9 + $len;
            my $payload = substr($self->{buf}, 9, $len);
            substr($self->{buf}, 0, 9 + $len) = '';
            $self->_handle($type, $flags, $sid & 0x7fffffff, $payload);
        }
        return 1 if $done && $done->();
        return 0 if $self->{eof};
        my $left = $deadline - time;
        return 0 if $left <= 0;
        next unless $sel->can_read($left);
        my $n = sysread($self->{sock}, my $chunk, 65536);
        if (!$n) {
            $self->{eof} = 1;
            next;
        }
        $self->{buf} .= $chunk;
    }
}

sub _handle {
    my ($self, $type, $flags, $sid, $p) = @_;
    push @{ $self->{frames} }, [$type, $flags, $sid, length $p];
    if ($type == SETTINGS) {
        $self->frame(SETTINGS, ACK, 0, '') unless $flags & ACK;
        return;
    }
    if ($type == PING) {
        $self->frame(PING, ACK, 0, $p) unless $flags & ACK;
        return;
    }
    if ($type == GOAWAY) {
        @{ $self }{qw(goaway_last goaway_code)} = unpack 'NN', $p;
        return;
    }
    return unless $sid;
    my $s = $self->{streams}{$sid} //= { data => '', headers => '' };
    if ($type == HEADERS || $type == CONTINUATION) {
        # strip padding and priority from HEADERS
        if ($type == HEADERS) {
            my $pad = 0;
            if ($flags & 0x8) { $pad = ord $p; substr($p, 0, 1) = '' }
            substr($p, 0, 5) = '' if $flags & 0x20;
            substr($p, -$pad) = '' if $pad;
        }
        $s->{headers} .= $p;
        $s->{status} //= _status($s->{headers}) if $flags & END_HEADERS;
    } elsif ($type == DATA) {
        my $pad = 0;
        if ($flags & 0x8) { $pad = ord $p; substr($p, 0, 1) = '' }
        substr($p, -$pad) = '' if $pad;
        $s->{data} .= $p;
        # give the window back so long answers are not stalled
        if (length $p) {
            my $inc = pack 'N', length $p;
            $self->frame(WINDOW_UPDATE, 0, 0, $inc);
            $self->frame(WINDOW_UPDATE, 0, $sid, $inc);
        }
    } elsif ($type == RST_STREAM) {
        $s->{rst} = unpack 'N', $p;
    }
    $s->{ended} = 1 if ($type == HEADERS || $type == DATA)
        && $flags & END_STREAM;
}

# :status from the first field of a response header block
sub _status {
    my ($b) = @_;
    my $c = ord $b;
    return $STATUS_INDEX{$c & 0x7f} if $c & 0x80;
    # literal with the indexed name :status (8): 0x48, 0x08 or 0x18
    if (($c & 0xc0) == 0x40 && ($c & 0x3f) == 8
        || ($c & 0xf0) <= 0x10 && ($c & 0x0f) == 8) {
        my $len = ord substr($b, 1, 1);
        return undef if $len & 0x80;          # Huffman: not sent by nginx
        return substr($b, 2, $len) + 0;
    }
    return undef;
}

# Waits up to $timeout s for stream $sid to end (END_STREAM or RST_STREAM)
# or the connection to close.  Returns the stream's record: { status,
# data, headers, ended, rst }.
sub response {
    my ($self, $sid, $timeout) = @_;
    my $s = $self->{streams}{$sid} //= { data => '', headers => '' };
    $self->pump($timeout // 5, sub { $s->{ended} || defined $s->{rst} });
    return $s;
}

sub eof { $_[0]{eof} }

# true when the server has closed the connection: reads until EOF
sub wait_closed {
    my ($self, $timeout) = @_;
    $self->pump($timeout, sub { $self->{eof} });
    return $self->{eof};
}

1;
