#!/usr/bin/perl
# The README's "A complete configuration", run as printed: the block is read
# from README.md at test time and started with the real nginx and the built
# module, in front of a local provider over verified TLS.  Its one location,
# `sg_sign_schema auto`, signs each method under its own rules and forwards
# it to that method; every spelling of a path that nginx decodes or
# normalizes (a trailing slash, payout/., payout%2F, %0A, //, dot segments)
# is refused by auto itself, or matches no location, and is never forwarded.
#
# Substitutions (each target must be found, or the test dies: the README
# drifted and this test no longer runs what it shows):
#   10.0.0.5:8080            -> 127.0.0.1:<port>      the listen address
#   10.0.0.0/8               -> 127.0.0.0/8           `allow`: the clients
#                               that come with the new listen address
#   demo.smart-glocal.com:443 -> 127.0.0.1:<tls port> the upstream's server:
#                               a plain nginx with a certificate for
#                               demo.smart-glocal.com from a CA made here,
#                               proxying to t/lib/mock_provider.pl
#   /etc/nginx/sg/partner.key -> a key generated here
#   /etc/ssl/certs/ca-certificates.crt -> that CA's certificate
# Practical necessities (paths outside the test dir, not what is tested):
#   /var/log/nginx/error.log, /var/log/nginx/sg.log -> <dir>/logs/...;
#   the five *_temp_path directives added after `http {` (nginx's build
#     defaults, /var/lib/nginx/*, are created at start and need root);
#   on the command line: -p <dir>/ (so `load_module modules/...` is read
#     unchanged: <dir>/modules/ngx_http_sg_sign_module.so links to the
#     module under test), -g 'pid <dir>/gateway.pid;' (the build default is
#     /run/nginx.pid), -e <dir>/logs/gateway-start.log (errors before the
#     config is read).
# Nothing else of the block is changed; the test checks that no production
# path or address is left in what it runs.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET;
use Test::More;
use SgSign::Test qw(read_file write_file error_ok);

plan skip_all => 'nginx runs daemonized here; not under SG_SIGN_VALGRIND'
    if $SgSign::Test::FOREGROUND;

my $t = SgSign::Test->new;
my $dir = $t->dir;
my $tls_port = SgSign::Test::free_port();
my %pid_file = (gateway => "$dir/gateway.pid", front => "$dir/front.pid");

END {
    local $?;
    stop_nginx($_) for sort keys %pid_file;
}


# ---------------------------------------------------------------- the block

sub readme_block {
    my $readme = read_file("$SgSign::Test::ROOT/README.md")
        // die "cannot read README.md\n";
    my @lines = split /\n/, $readme, -1;
    my $i = 0;
    $i++ while $i < @lines && $lines[$i] ne '## A complete configuration';
    die "README.md: no '## A complete configuration' section\n"
        if $i == @lines;
    # the first indented code block after the heading, to the first
    # non-blank line that is not indented
    $i++ while $i < @lines && $lines[$i] !~ /\A {4}\S/;
    my @block;
    while ($i < @lines && ($lines[$i] =~ /\A {4}/ || $lines[$i] !~ /\S/)) {
        push @block, $lines[$i++];
    }
    pop @block while @block && $block[-1] !~ /\S/;
    s/\A {4}// for @block;
    my $conf = join "\n", @block, '';
    die "README.md: the configuration block does not start with load_module\n"
        unless $conf =~ /\Aload_module /;
    return $conf;
}

# replaces every occurrence of $from; dies unless there are $want of them
# ('+': at least one)
sub subst {
    my ($conf, $from, $to, $want) = @_;
    my $n = () = $$conf =~ /\Q$from\E/g;
    die "README drift: expected $want x '$from' in the configuration, "
        . "found $n\n" if $want eq '+' ? $n < 1 : $n != $want;
    $$conf =~ s/\Q$from\E/$to/g;
}

my $readme_conf = readme_block();
my $conf = $readme_conf;

my $key = $t->rsa_key('partner');
mkdir "$dir/tls";
my $ca = make_tls('test');

subst(\$conf, '10.0.0.5:8080', '127.0.0.1:' . $t->port, 1);
subst(\$conf, '10.0.0.0/8', '127.0.0.0/8', 1);
subst(\$conf, 'demo.smart-glocal.com:443', "127.0.0.1:$tls_port", 1);
subst(\$conf, '/etc/nginx/sg/partner.key', $key->{key}, 1);
subst(\$conf, '/etc/ssl/certs/ca-certificates.crt', $ca, '+');
subst(\$conf, '/var/log/nginx/error.log', "$dir/logs/error.log", 1);
subst(\$conf, '/var/log/nginx/sg.log', "$dir/logs/sg.log", 1);
my $temp = join '', map { "    ${_}_temp_path $dir/temp/$_;\n" }
    qw(client_body proxy fastcgi uwsgi scgi);
$conf =~ s/^http \{\n/http {\n$temp/m or die "README drift: no 'http {'\n";

# what must not be left: a production path or address would make the test
# use (or fail on) something outside its dir
for my $prod (qr{/etc/}, qr{/var/}, qr{\b10\.\d}, qr{:443\b}) {
    die "README drift: '$prod' left in the configuration run\n"
        if $conf =~ $prod;
}
like $readme_conf, qr{^load_module modules/ngx_http_sg_sign_module\.so;$}m,
    'the README block loads the module from modules/ (resolved with -p)';

mkdir "$dir/modules";
symlink $SgSign::Test::MODULE, "$dir/modules/ngx_http_sg_sign_module.so"
    or die "symlink: $!\n";
mkdir "$dir/temp";
write_file("$dir/gateway.conf", $conf, 0644);


# ---------------------------------------------------------------- processes

$t->start_provider(public_key => $key->{pub});

start_front('test');
start_nginx('gateway', [@SgSign::Test::PREFIX, $SgSign::Test::NGINX],
    "$dir/gateway.conf", $t->port);

# The provider's TLS end: a plain nginx (no module) with a certificate for
# demo.smart-glocal.com from CA $ca_name, proxying to the mock provider.
sub start_front {
    my ($ca_name) = @_;
    my $up = $t->up_port;
    my $cert = "$dir/tls/server-$ca_name";
    write_file("$dir/front.conf", <<"EOF", 0644);
worker_processes 1;
error_log $dir/logs/front-error.log info;
events {
    worker_connections 64;
}
http {
    client_body_temp_path $dir/temp/front_body;
    proxy_temp_path $dir/temp/front_proxy;
    fastcgi_temp_path $dir/temp/front_fastcgi;
    uwsgi_temp_path $dir/temp/front_uwsgi;
    scgi_temp_path $dir/temp/front_scgi;

    log_format tls '\$ssl_protocol sni=\$ssl_server_name "\$request"';
    access_log $dir/logs/front-access.log tls;

    server {
        listen 127.0.0.1:$tls_port ssl;
        ssl_certificate     $cert.crt;
        ssl_certificate_key $cert.key;

        location / {
            # the request line, headers and body as the gateway sent
            # them, Host included (nginx adds its own Connection: close)
            proxy_pass http://127.0.0.1:$up;
            proxy_http_version 1.1;
            proxy_set_header Host \$http_host;
        }
    }
}
EOF
    start_nginx('front', [$SgSign::Test::NGINX], "$dir/front.conf",
        $tls_port);
}

sub start_nginx {
    my ($name, $cmd, $conf_file, $port) = @_;
    my $pf = $pid_file{$name};
    my $r = SgSign::Test::run_cmd(@$cmd, '-p', "$dir/", '-c', $conf_file,
        '-e', "$dir/logs/$name-start.log", '-g', "pid $pf;");
    die "$name nginx did not start (rc $r->{rc}):\n$r->{output}\n"
        . (read_file("$dir/logs/$name-start.log") // '') if $r->{rc} != 0;
    SgSign::Test::wait_for(sub { -s $pf }, 10 * $SgSign::Test::SLOW)
        or die "$name nginx wrote no pid file\n";
    SgSign::Test::wait_for(sub {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
            Proto => 'tcp', Timeout => 1)
    }, 10 * $SgSign::Test::SLOW) or die "$name nginx is not listening\n";
}

sub stop_nginx {
    my ($name) = @_;
    my $p = read_file($pid_file{$name}) // return;
    my ($pid) = $p =~ /(\d+)/ or return;
    kill 'TERM', $pid or return;
    SgSign::Test::wait_for(sub { !kill 0, $pid }, 5 * $SgSign::Test::SLOW)
        or kill 'KILL', $pid;
    unlink $pid_file{$name};
}

# CA <name> (tls/ca-<name>.crt, .key) and a server certificate for
# demo.smart-glocal.com signed by it (tls/server-<name>.crt, .key); returns
# the CA certificate's path.
sub make_tls {
    my ($name) = @_;
    my ($ca, $srv) = ("$dir/tls/ca-$name", "$dir/tls/server-$name");
    my @ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
        '-nodes');
    SgSign::Test::openssl('req', '-x509', @ec, '-keyout', "$ca.key",
        '-out', "$ca.crt", '-days', '2', '-subj', "/CN=sg-sign $name CA");
    SgSign::Test::openssl('req', '-new', @ec, '-keyout', "$srv.key",
        '-out', "$srv.csr", '-subj', '/CN=demo.smart-glocal.com');
    write_file("$srv.ext", "subjectAltName = DNS:demo.smart-glocal.com\n"
        . "extendedKeyUsage = serverAuth\n", 0644);
    SgSign::Test::openssl('x509', '-req', '-in', "$srv.csr",
        '-CA', "$ca.crt", '-CAkey', "$ca.key", '-CAcreateserial',
        '-days', '2', '-extfile', "$srv.ext", '-out', "$srv.crt");
    chmod 0600, "$ca.key", "$srv.key";
    return "$ca.crt";
}


# ---------------------------------------------------------------- helpers

# the sg.log line a request left (requests are sequential: the log's new
# last line once it grows)
sub sg_log { read_file("$dir/logs/sg.log") // '' }

# returns the answer, the log line and how many requests the provider had
# seen before this one
sub send_logged {
    my (%o) = @_;
    my $seen = $t->upstream_count;
    my $before = length sg_log();
    my $res = $t->request(%o);
    my $line = SgSign::Test::wait_for(sub {
        my $new = substr sg_log(), $before;
        return $new =~ /\n\z/ ? $new : undef;
    }, 5 * $SgSign::Test::SLOW) // '';
    return ($res, $line, $seen);
}

sub front_log { read_file("$dir/logs/front-access.log") // '' }

my $PAYOUT = '/api/v1/session/start/payout';
my $valid = '{"session_id":"s1","amount_details":'
    . '{"currency":"USD","amount":10000}}';
my $canonical = '{"amount_details":{"amount":10000,"currency":"usd"},'
    . '"session_id":"s1"}';
# what only "any object" would let through
my $loose = '{"session_id":"s1","amount_details":'
    . '{"amount":100.5,"currency":"USD"},"beneficiary":"x"}';

my $UNKNOWN = qr/\Athe URI names no method this gateway signs\z/;
my $NOT_AS_SENT = qr/\Athe URI must name the method as it is: no %-escapes, /;

my @expect;     # the request lines the provider must have seen, in order

sub forwarded_ok {
    my ($res, $line, $seen, $path, $body, $name) = @_;
    my @got = $t->upstream_requests;
    my $u = $got[-1];
    push @expect, "POST $path HTTP/1.1";
    subtest $name => sub {
        is $res->status, 200, 'the provider answers 200';
        is scalar @got, $seen + 1, 'one more request upstream';
        return unless $u;
        is $u->request_line, "POST $path HTTP/1.1", "forwarded to $path";
        is_deeply [$u->header('Host')], ['demo.smart-glocal.com'],
            'Host is the provider\'s';
        is_deeply [$u->header('X-PARTNER-PROJECT')], ['your_project_name'],
            'the README\'s project';
        is $u->body, $body, 'the canonical body';
        my ($sig) = $u->header('X-PARTNER-SIGN');
        ok $t->verify_signature($u->body, $sig, $key->{pub}),
            'the signature verifies (openssl)';
        my $method = $path =~ s{\A/api/v1/}{}r;
        like $line,
            qr/ sg=signed method=\Q$method\E .*key=$key->{fingerprint} /,
            'the README\'s log format: signed, the method, the key';
        like((split /\n/, front_log())[-1],
            qr{\ATLSv1\.[23] sni=demo\.smart-glocal\.com "POST \Q$path\E },
            'it came over TLS with the provider\'s name as SNI');
    };
}

# refused by auto in the README's location: 404 unknown_method
sub refused_ok {
    my ($res, $line, $seen, $re, $name) = @_;
    subtest $name => sub {
        error_ok($res, 404, 'unknown_method', $re, '404 unknown_method');
        is_deeply [$res->header('X-PARTNER-SIGN')], [], 'no signature';
        like $line, qr/ sg=unknown_method method=- /,
            'logged as unknown_method, no method';
        is $t->upstream_count, $seen, 'nothing forwarded';
    };
}

# never reaches the sg_sign location: nginx answers $status itself
sub untouched_ok {
    my ($res, $line, $seen, $status, $name) = @_;
    subtest $name => sub {
        is $res->status // 'none', $status, "nginx's own $status";
        is_deeply [$res->header('X-PARTNER-SIGN')], [], 'no signature';
        like $line, qr/ sg=- /, 'not signed (sg=- in the log)';
        is $t->upstream_count, $seen, 'nothing forwarded';
    };
}


# ---------------------------------------------------------------- tests

{
    my ($res, $line, $seen) = send_logged(path => $PAYOUT, body => $valid);
    forwarded_ok($res, $line, $seen, $PAYOUT, $canonical,
        'a valid payout is signed and reaches the provider over verified TLS');
}

{
    my ($res, $line, $seen) = send_logged(path => $PAYOUT, body => $loose);
    error_ok($res, 400, 'invalid_request', undef,
        'a float amount and an unknown member: refused by the payout rules');
    like $line, qr/ sg=invalid_request method=session\/start\/payout /,
        'logged as invalid_request under session/start/payout';
    is $t->upstream_count, $seen, 'and nothing forwarded';
}

{
    my ($res, $line, $seen) = send_logged(path => "$PAYOUT?amount=1&x=%2F",
        body => $valid);
    forwarded_ok($res, $line, $seen, $PAYOUT, $canonical,
        'the query string is not forwarded (the signature does not cover it)');
}

# Another method: signed under its own built-in rules if this build has
# them (build/schema_driver says what they make of the body), else 404
{
    my $status = '/api/v1/session/status';
    my $body = '{"session_id":"s1"}';
    my $verdict = '';
    if (-f "$SgSign::Test::ROOT/schemas/session/status.json") {
        my $in = write_file("$dir/status.in", "$body\n", 0644);
        my $driver = "$SgSign::Test::ROOT/build/schema_driver";
        ($verdict) = `$driver -b session/status < $in`;
        $verdict //= '';
        chomp $verdict;
    }
    my ($res, $line, $seen) = send_logged(path => $status, body => $body);
    if ($verdict =~ /\Aok\t(.*)\z/) {
        forwarded_ok($res, $line, $seen, $status, $1,
            'session/status is signed under its own rules');
    } elsif ($verdict =~ /\Ainvalid\t/) {
        error_ok($res, 400, 'invalid_request', undef,
            'session/status: refused by its own rules');
        is $t->upstream_count, $seen, 'session/status: nothing forwarded';
    } else {
        refused_ok($res, $line, $seen, $UNKNOWN,
            'session/status: no built-in schema in this build, 404');
    }
}

{
    my ($res, $line, $seen) = send_logged(
        path => '/api/v1/session/no_such_method', body => '{}');
    refused_ok($res, $line, $seen, $UNKNOWN, 'a method with no schema: 404');
}

# Paths that nginx decodes or normalizes to a method, or to a method plus a
# slash or a newline, and paths that name no method as they stand: they
# reach the location (nginx matched its decoded, normalized form), and auto
# refuses them.  A catch-all used to sign some of these as "any object".
for my $path ("$PAYOUT/", "$PAYOUT/.", "$PAYOUT%2F", "$PAYOUT%2f",
    "$PAYOUT%2F.", "$PAYOUT/%2E", "$PAYOUT/x/..", "$PAYOUT/..", "$PAYOUT//",
    "$PAYOUT%0A", "$PAYOUT%0D%0A", '/api/v1/', '/api/v1//',
    '/api/v1/session/', '/api/v1/session/status/',
    '/api/v1/session/status%0A', '/api/v1//session/start/payout',
    '/api/v1/session/./start/payout', '/api/v1/session/start/x/../payout',
    '/api/v1/session%2Fstart%2Fpayout', '/api/v1//session/status',
    '/api/v1/session/./status', '/api/v1/session%2Fstatus',
    '/api/v1/x/../session/status', '/api/v1%2Fsession/start/payout',
    '/api/v1/session/start/p%61yout', '/api/v1/Session/Start/Payout',
    '/api/v1/object')
{
    my $as_sent = $path !~ m{%|//|/\.\.?(?:/|\z)};
    my ($res, $line, $seen) = send_logged(path => $path, body => $loose);
    refused_ok($res, $line, $seen, $as_sent ? $UNKNOWN : $NOT_AS_SENT,
        "$path: refused by auto, "
        . ($as_sent ? 'no such method' : 'not as sent'));
}

# Paths nginx answers before any sg_sign location: normalized out of
# /api/v1/ (no location: nginx's static 404, <dir>/html does not exist),
# the location's name without its slash (proxy_pass's redirect), a NUL
for my $case (['/api/v1/..', 404], ['/api/v1/%2E%2E/session/status', 404],
    ['/api/v1', 301], ['/api/v1/session/status%00', 400])
{
    my ($path, $status) = @$case;
    my ($res, $line, $seen) = send_logged(path => $path, body => $loose);
    untouched_ok($res, $line, $seen, $status,
        "$path: nginx's own $status, no sg_sign location");
}

is_deeply [map { $_->request_line } $t->upstream_requests], \@expect,
    'the provider saw exactly the requests above'
    or diag explain [map { $_->request_line } $t->upstream_requests];

# The provider's name with a certificate from a CA the gateway does not
# trust: proxy_ssl_verify refuses it, nothing is sent
{
    make_tls('rogue');
    stop_nginx('front');
    start_front('rogue');
    my $off = length $t->error_log;
    my ($res, $line, $seen) = send_logged(path => $PAYOUT, body => $valid);
    error_ok($res, 502, 'upstream_unavailable', undef,
        'a certificate from another CA: 502');
    is $t->upstream_count, $seen, 'nothing reaches the provider';
    like $t->error_log($off), qr/upstream SSL certificate verify error/,
        'the gateway refused the certificate';
}

done_testing;
