#!/usr/bin/perl
# sg_sign_schema auto: one location for the whole API.  The method is the
# URI after the location's name, looked up exactly in the overrides
# (sg_sign_method_schema) and the built-in schemas, and $sg_sign_method,
# which proxy_pass sends upstream, is what was looked up: the method
# checked is the method the provider receives.
#
#   - routing: each built-in method gets its own rules (the verdicts of
#     build/schema_driver -b METHOD on the same bodies), signed and
#     forwarded to that method;
#   - the method checked is the one forwarded: a body sent to one method
#     is never checked by another's rules;
#   - overrides: a schema file, a built-in name, a method no built-in has;
#   - unknown methods: 404 unknown_method, or with unknown=object signed as
#     any object when the name is made of [a-z_] segments;
#   - every URI nginx decoded or normalized is refused (%-escapes, dot
#     segments, doubled slashes, fragments, rewrites), and nothing is
#     forwarded for any refusal;
#   - $sg_sign_method in proxy_pass and in the access log; no query string
#     upstream;
#   - nginx -t: where auto cannot be used, bad method names and schemas.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use SgSign::Test qw(read_file write_file error_ok);

my $t = SgSign::Test->new;
my $key = $t->rsa_key('partner');
my $dir = $t->dir;
my $sdir = "$dir/sg";
mkdir $sdir or die "$sdir: $!\n";

my $ROOT = $SgSign::Test::ROOT;
my $DRIVER = "$ROOT/build/schema_driver";
die "$DRIVER not built (run `make`)\n" unless -x $DRIVER;

# the built-ins this build embeds, as schemas/embed.sh names them; auto
# routes to every one but "object" (any JSON object, no method)
my $SCHEMAS = "$ROOT/schemas";
my @BUILTINS = sort map { s{^\Q$SCHEMAS\E/}{}r =~ s{\.json\z}{}r }
    grep { $_ ne "$SCHEMAS/common.json" }
    split /\n/,
    `find $SCHEMAS -name '.?*' -prune -o -type f -name '*.json' -print`;
my @METHODS = grep { $_ ne 'object' } @BUILTINS;
ok scalar(grep { $_ eq 'session/start/payout' } @METHODS),
    'session/start/payout is a built-in method';

my $UNKNOWN = qr/\Athe URI names no method this gateway signs\z/;
my $NOT_AS_SENT = qr/\Athe URI must name the method as it is: no %-escapes, /;

my $PAYOUT = '{"session_id":"s1","amount_details":'
    . '{"currency":"USD","amount":10000}}';
my $PAYOUT_JCS = '{"amount_details":{"amount":10000,"currency":"usd"},'
    . '"session_id":"s1"}';
# what only "any object" lets through
my $LOOSE = '{"session_id":"s1","amount_details":'
    . '{"amount":100.5,"currency":"USD"},"beneficiary":"x"}';
my $STATUS = '{"session_id":"s1"}';


# ---------------------------------------------------------------- schemas

sub schema_file {
    my ($name, $text) = @_;
    my $path = write_file("$sdir/$name", $text, 0644);
    chmod 0644, $path;
    return $path;
}

# session/start/payout as this test defines it: a marker no built-in knows
my $MARKED = '{"session_id":"s1","sg_test_marker":true}';
my $MARKER_SCHEMA = schema_file('marker.json', <<'EOF');
{
    "type": "object",
    "required": ["session_id", "sg_test_marker"],
    "properties": {
        "sg_test_marker": {"const": true}
    }
}
EOF

# session/status as this test defines it, whatever the built-in says:
# only a session_id
my $STATUS_SCHEMA = schema_file('status.json', <<'EOF');
{
    "type": "object",
    "required": ["session_id"],
    "additionalProperties": false,
    "properties": {
        "session_id": {"type": "string", "minLength": 1}
    }
}
EOF


# ---------------------------------------------------------------- gateway

my $LOG = "$dir/logs/auto.log";

sub loc {
    my ($name, @directives) = @_;
    my $d = join '', map { "            $_\n" } @directives;
    return <<"EOF";
        location $name {
            sg_sign on;
$d            proxy_pass http://provider/api/v1/\$sg_sign_method;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
EOF
}

my $http = <<"EOF"
    log_format auto '\$request_uri \$status sg=\$sg_sign_status '
                    'method=\$sg_sign_method';

    server {
        listen 127.0.0.1:@{[$t->port]};
        access_log $LOG auto;

        sg_sign_project p;
        sg_sign_key $key->{key};

EOF
    # the built-ins as they are
    . loc('/plain/v1/', 'sg_sign_schema auto;')
    # overrides: a file, a method no built-in has (by a built-in's name)
    . loc('/api/v1/', 'sg_sign_schema auto;',
        "sg_sign_method_schema session/start/payout $MARKER_SCHEMA;",
        "sg_sign_method_schema session/status $STATUS_SCHEMA;",
        'sg_sign_method_schema test/any_object object;')
    # a built-in's rules replaced by another built-in
    . loc('/obj/v1/', 'sg_sign_schema auto;',
        'sg_sign_method_schema session/start/payout object;')
    . loc('/loose/v1/', 'sg_sign_schema auto unknown=object;')
    # a prefix without a trailing slash; "if" blocks keep its name
    . loc('/noslash', 'sg_sign_schema auto;',
        'if ($http_x_test_if) { set $sg_test_if 1; }')
    . loc('^~ /caret/v1/', 'sg_sign_schema auto;')
    . <<"EOF";
        # an internal rewrite into an auto location: not the client's URI
        location /old/ {
            rewrite ^/old/(.*)\\z /plain/v1/\$1 last;
        }

        # an internal redirect into an auto location
        location /tf/ {
            try_files /sg-no-such-file /plain/v1/session/start/payout;
        }
    }
EOF

$t->start_provider(public_key => $key->{pub});
$t->start($http);


# ---------------------------------------------------------------- helpers

sub auto_log { read_file($LOG) // '' }

# the answer and the access log line the request left
sub send_logged {
    my (%o) = @_;
    my $before = length auto_log();
    my $res = $t->request(%o);
    my $line = SgSign::Test::wait_for(sub {
        my $new = substr auto_log(), $before;
        return $new =~ /\n\z/ ? $new : undef;
    }, 5 * $SgSign::Test::SLOW) // '';
    chomp $line;
    return ($res, $line);
}

my @expect;     # the request lines the provider must have seen, in order

# POSTs $body to $path; it must be signed and forwarded to /api/v1/$method
# as $canonical
sub forwarded_ok {
    my ($path, $body, $method, $canonical, $name, %o) = @_;
    my $seen = $t->upstream_count;
    my ($res, $line) = send_logged(path => $path, body => $body, %o);
    my @got = $t->upstream_requests;
    my $u = $got[-1];
    push @expect, "POST /api/v1/$method HTTP/1.1";
    subtest $name => sub {
        is $res->status, 200, 'the provider answers 200'
            or diag $res->body;
        is scalar @got, $seen + 1, 'one request upstream';
        return unless $u && @got > $seen;
        is $u->request_line, "POST /api/v1/$method HTTP/1.1",
            "forwarded to /api/v1/$method, no query string";
        is $u->body, $canonical, 'the canonical body';
        my ($sig) = $u->header('X-PARTNER-SIGN');
        ok $t->verify_signature($u->body, $sig, $key->{pub}),
            'the signature verifies (openssl)';
        like $line, qr/ sg=signed method=\Q$method\E\z/,
            '$sg_sign_method in the log';
    };
}

# must be refused with $status $code, nothing forwarded
sub refused_ok {
    my ($path, $body, $status, $code, $re, $name, %o) = @_;
    my $seen = $t->upstream_count;
    my ($res, $line) = send_logged(path => $path, body => $body, %o);
    subtest $name => sub {
        error_ok($res, $status, $code, $re, "$status $code");
        is_deeply [$res->header('X-PARTNER-SIGN')], [], 'no signature';
        like $line, qr/ sg=\Q$code\E method=/, "logged as $code";
        is $t->upstream_count, $seen, 'nothing forwarded';
    };
    return $line;
}

# build/schema_driver's verdicts for @bodies (one JSON text each) under
# the built-in $name: "ok\t<canonical>" or "invalid\t<path>\t<reason>"
sub driver {
    my ($name, @bodies) = @_;
    my $in = write_file("$dir/work/driver.in", join('', map { "$_\n" }
        @bodies), 0644);
    my @out = split /\n/, `$DRIVER -b $name < $in`;
    die "schema_driver -b $name: $?\n" if $?;
    die "schema_driver -b $name: " . scalar(@out) . " lines for "
        . scalar(@bodies) . " bodies\n" if @out != @bodies;
    return @out;
}


# ------------------------------------------------------ each built-in

# Each built-in method, at /plain/v1/METHOD, gives every probe body the
# verdict the engine gives it under that method's schema, and what it signs
# goes to that method.
my @PROBES = ($PAYOUT, $LOOSE, $STATUS, '{}', '{"session_id":""}',
    '{"session_id":"s1","sg_test_unknown_member":1}', '[]', '"x"');
my %verdicts;

for my $m (@METHODS) {
    my @v = driver($m, @PROBES);
    $verdicts{$m} = join "\n", @v;
    for my $i (0 .. $#PROBES) {
        my $what = "$m, probe $i";
        if ($v[$i] =~ /\Aok\t(.*)\z/s) {
            forwarded_ok("/plain/v1/$m", $PROBES[$i], $m, $1,
                "$what: signed under ${m}'s rules, forwarded to $m");
        } elsif ($v[$i] =~ /\Ainvalid\t([^\t]*)\t(.*)\z/s) {
            my $desc = length $1 ? "$1: $2" : $2;
            # the gateway's description holds at most 255 bytes
            $desc = substr $desc, 0, 255;
            my $line = refused_ok("/plain/v1/$m", $PROBES[$i], 400,
                'invalid_request', qr/\A\Q$desc\E\z/,
                "$what: refused by ${m}'s rules");
            like $line, qr/ method=\Q$m\E\z/,
                "$what: the log names $m as the method checked";
        } else {
            fail "$what: unexpected driver verdict '$v[$i]'";
        }
    }
}

SKIP: {
    skip 'one built-in method only: no two rules to tell apart', 1
        if @METHODS < 2;
    my %distinct = map { $verdicts{$_} => 1 } @METHODS;
    cmp_ok scalar(keys %distinct), '>', 1,
        'the probes tell the built-in methods apart (routing is seen)';
}


# ------------------------------------ the method checked is the one sent
#
# /api/v1/ checks session/status and session/start/payout with files of
# this test: each body is signed under the method it is sent to, and
# refused under the other

forwarded_ok('/api/v1/session/status', $STATUS, 'session/status', $STATUS,
    'session/status: its own rules (a file), forwarded to it');
refused_ok('/api/v1/session/status', $PAYOUT, 400, 'invalid_request',
    qr/\Aamount_details: unknown member\b/,
    'a payout body sent to session/status is checked as session/status');
refused_ok('/api/v1/session/status', $MARKED, 400, 'invalid_request',
    qr/\Asg_test_marker: unknown member\b/,
    'the payout override\'s body sent to session/status: the status rules');
forwarded_ok('/api/v1/session/start/payout', $MARKED, 'session/start/payout',
    '{"session_id":"s1","sg_test_marker":true}',
    'session/start/payout: its override (a file), forwarded to it');
refused_ok('/api/v1/session/start/payout', $STATUS, 400, 'invalid_request',
    qr/\Asg_test_marker: /,
    'a status body sent to session/start/payout: the override\'s rules');


# ------------------------------------------------------------ overrides

# the file replaced the built-in: what the built-in refuses it signs, and
# the other way round (the built-in's verdicts from schema_driver)
{
    my ($marked, $payout) = driver('session/start/payout', $MARKED, $PAYOUT);
    like $marked, qr/\Ainvalid\t/,
        'the built-in payout rules refuse the marker body';
    refused_ok('/plain/v1/session/start/payout', $MARKED, 400,
        'invalid_request', undef,
        'which the built-in, in a location without the override, refuses');
    like $payout, qr/\Aok\t/, 'the built-in payout rules sign $PAYOUT';
    refused_ok('/api/v1/session/start/payout', $PAYOUT, 400,
        'invalid_request', qr/\Asg_test_marker: /,
        'the override refuses a payout the built-in signs');
    forwarded_ok('/plain/v1/session/start/payout', $PAYOUT,
        'session/start/payout', $PAYOUT_JCS,
        'which the built-in, without the override, signs');
}

forwarded_ok('/obj/v1/session/start/payout', $LOOSE, 'session/start/payout',
    '{"amount_details":{"amount":100.5,"currency":"USD"},'
    . '"beneficiary":"x","session_id":"s1"}',
    'an override by a built-in name ("object") replaces the payout rules');
refused_ok('/plain/v1/session/start/payout', $LOOSE, 400, 'invalid_request',
    undef, 'which the built-in payout rules refuse');
forwarded_ok('/api/v1/test/any_object', '{"a":[1,2]}', 'test/any_object',
    '{"a":[1,2]}', 'an override adds a method no built-in has');
refused_ok('/plain/v1/test/any_object', '{"a":[1,2]}', 404,
    'unknown_method', $UNKNOWN, 'only where it is configured');


# ------------------------------------------------------- unknown methods

for my $path ('/plain/v1/session/no_such_method', '/plain/v1/object',
    '/plain/v1/', '/plain/v1/session', '/plain/v1/session/start',
    '/plain/v1/session/start/payoutx', '/plain/v1/session/start/payout/',
    '/plain/v1/Session/Start/Payout', '/plain/v1/session/start/payout;x',
    '/plain/v1/session/start/payout+', '/plain/v1/session\\start\\payout',
    '/plain/v1/sg:common', '/noslashsession/start/payout')
{
    refused_ok($path, $PAYOUT, 404, 'unknown_method', $UNKNOWN,
        "$path: no such method");
}

{
    my $seen = $t->upstream_count;
    my ($res) = send_logged(method => 'GET', path => '/plain/v1/no_such');
    error_ok($res, 404, 'unknown_method', $UNKNOWN,
        'a GET to an unknown method: 404 (the method is looked up first)');
    ($res) = send_logged(method => 'GET',
        path => '/plain/v1/session/start/payout');
    error_ok($res, 405, 'method_not_allowed', undef,
        'a GET to a known method: 405');
    is $t->upstream_count, $seen, 'nothing forwarded';
}

# unknown=object: a method no table has is signed as any JSON object, if
# its name is [a-z_] segments joined by single "/"
forwarded_ok('/loose/v1/sg_test/new_method', '{"a":1}', 'sg_test/new_method',
    '{"a":1}', 'unknown=object: a new method is signed as any object');
forwarded_ok('/loose/v1/sg_test_new', '{"b":true}', 'sg_test_new',
    '{"b":true}', 'unknown=object: a one-segment name');
refused_ok('/loose/v1/session/start/payout', $LOOSE, 400, 'invalid_request',
    undef, 'unknown=object: a built-in method keeps its own rules');
refused_ok('/loose/v1/sg_test/new_method', '[1]', 400, 'invalid_request',
    undef, 'unknown=object: still a JSON object only');
for my $path ('/loose/v1/', '/loose/v1/New_method', '/loose/v1/a-b',
    '/loose/v1/a1', '/loose/v1/a/', '/loose/v1/a.b', '/loose/v1/a;b',
    '/loose/v1/a+b', '/loose/v1/a\\b', '/loose/v1/a:b', '/loose/v1/a~b')
{
    refused_ok($path, '{"a":1}', 404, 'unknown_method', $UNKNOWN,
        "unknown=object: $path is no method name");
}


# ---------------------------------------- URIs nginx decoded or normalized

for my $path ('/plain/v1/session/start/payout%2F',
    '/plain/v1/session/start/payout%2f', '/plain/v1/session%2Fstart%2Fpayout',
    '/plain/v1/session/start/payout/.', '/plain/v1/session/start/payout/%2E',
    '/plain/v1/session/start/./payout', '/plain/v1/./session/start/payout',
    '/plain/v1/session/start/x/../payout',
    '/plain/v1/x/../session/start/payout',
    '/plain/v1/session/start/payout/x/..', '/plain/v1/session/start/payout//',
    '/plain/v1//session/start/payout', '/plain/v1/session//start/payout',
    '/plain/v1/session/start/payout%0A', '/plain/v1/session/start/payout%0D%0A',
    '/plain/v1/session/start/pay%6Fut', '/plain/v1/session/start/payout#x',
    '/plain/v1/session/start/payout%3F', '/plain/v1/session/start/payout%23',
    '/plain/v1/session/start/payout%20', '/plain/v1%2Fsession/start/payout',
    '/plain/v1/session/..', '/plain//v1/session/start/payout',
    '/loose/v1/sg_test%2Fnew_method', '/loose/v1/sg_test//new_method',
    '/loose/v1/sg_test/./new_method')
{
    refused_ok($path, $PAYOUT, 404, 'unknown_method', $NOT_AS_SENT,
        "$path: normalized by nginx, refused");
}

# nginx refuses a NUL before it looks for a location: nothing is sent
{
    my $seen = $t->upstream_count;
    my $res = $t->request(path => '/api/v1/session/status%00x',
        body => $STATUS);
    is $res->status, 400, '%00: nginx\'s own 400, before any location';
    is $t->upstream_count, $seen, '%00: nothing forwarded';
}

# the request line's absolute form names the same path: as sent
{
    my $seen = $t->upstream_count;
    my $raw = "POST http://localhost/plain/v1/session/start/payout?q=1 "
        . "HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . "Content-Type: application/json\r\n"
        . "Content-Length: " . length($PAYOUT) . "\r\n\r\n$PAYOUT";
    my ($res, $line) = send_logged(raw => $raw);
    push @expect, 'POST /api/v1/session/start/payout HTTP/1.1';
    is $res->status, 200, 'an absolute-form request line is the URI as sent';
    is $t->upstream_count, $seen + 1, 'and it is forwarded';
    is(($t->upstream_requests)[-1]->request_line,
        'POST /api/v1/session/start/payout HTTP/1.1',
        'to the method, without the query string');
}

refused_ok('/old/session/start/payout', $PAYOUT, 404, 'unknown_method',
    $NOT_AS_SENT, 'a URI rewritten into an auto location is refused');
refused_ok('/tf/x', $PAYOUT, 404, 'unknown_method', $NOT_AS_SENT,
    'an internal redirect (try_files) into an auto location is refused');


# ------------------------------------------ query strings, prefixes, if

forwarded_ok('/plain/v1/session/start/payout?x=1&session_id=evil', $PAYOUT,
    'session/start/payout', $PAYOUT_JCS,
    'a query string is not forwarded (the signature would not cover it)');
forwarded_ok('/noslash/session/start/payout', $PAYOUT,
    'session/start/payout', $PAYOUT_JCS,
    'location /noslash: the method follows "/noslash/"');
forwarded_ok('/noslash/session/start/payout', $PAYOUT,
    'session/start/payout', $PAYOUT_JCS,
    'an "if" block in the location keeps its prefix',
    headers => [['X-Test-If', '1']]);
forwarded_ok('/caret/v1/session/start/payout', $PAYOUT,
    'session/start/payout', $PAYOUT_JCS, 'location ^~ is a prefix location');

is_deeply [map { $_->request_line } $t->upstream_requests], \@expect,
    'the provider saw exactly the requests above'
    or diag explain [map { $_->request_line } $t->upstream_requests];

$t->stop;


# ------------------------------------------------------------- nginx -t

# a server with the given text; nginx -t's rc and output (+ error log)
sub nginx_t {
    my ($text) = @_;
    unlink $t->error_log_path;
    my $r = $t->nginx_test(<<"EOF");
    server {
        listen 127.0.0.1:@{[$t->port]};
        sg_sign_project p;
        sg_sign_key $key->{key};
$text
    }
EOF
    return ($r, $r->{output} . $t->error_log);
}

my $conf = $t->conf_path;

my @bad_t = (
    ['auto in an exact location',
        loc('= /api/v1/session/status', 'sg_sign_schema auto;'),
        qr/^\s*sg_sign on;/,
        qr/"sg_sign_schema auto" cannot be used in an exact location /],
    ['auto in a regex location',
        loc('~ ^/api/v1/', 'sg_sign_schema auto;'), qr/^\s*sg_sign on;/,
        qr/"sg_sign_schema auto" cannot be used in a regex location /],
    ['auto in a named location',
        "        location / { return 404; }\n"
        . loc('@api', 'sg_sign_schema auto;'),
        qr/^\s*sg_sign on;/,
        qr/"sg_sign_schema auto" cannot be used in a named location /],
    ['auto set at server level, inherited by an exact location',
        "        sg_sign_schema auto;\n"
        . loc('= /api/v1/session/status'), qr/^\s*sg_sign on;/,
        qr/"sg_sign_schema auto" cannot be used in an exact location /],
    ['auto with something else than unknown=object',
        loc('/api/v1/', 'sg_sign_schema auto unknown=refuse;'),
        qr/sg_sign_schema auto/,
        qr/"sg_sign_schema" directive takes "unknown=object" after "auto"/],
    ['unknown= after a schema name',
        loc('/api/v1/', 'sg_sign_schema object unknown=object;'),
        qr/sg_sign_schema object/,
        qr/"sg_sign_schema" directive takes one schema/],
    ['sg_sign_method_schema without auto',
        loc('/api/v1/', 'sg_sign_method_schema session/status object;'),
        qr/sg_sign_method_schema/,
        qr/"sg_sign_method_schema" needs "sg_sign_schema auto"/],
    ['a method named twice',
        loc('/api/v1/', 'sg_sign_schema auto;',
            'sg_sign_method_schema session/status object;',
            'sg_sign_method_schema session/status object;'),
        qr/sg_sign_method_schema/,
        qr/sg_sign: the method "session\/status" already has a schema /],
    ['an override with an unknown built-in',
        loc('/api/v1/', 'sg_sign_schema auto;',
            'sg_sign_method_schema session/status sg_test/none;'),
        qr/sg_sign_method_schema/,
        qr/sg_sign: no built-in schema "sg_test\/none"/],
    ['an override with a schema file that does not compile',
        loc('/api/v1/', 'sg_sign_schema auto;',
            'sg_sign_method_schema session/status '
            . schema_file('bad.json', qq({\n  "type": "objct"\n}\n)) . ';'),
        qr/sg_sign_method_schema/,
        qr/sg_sign: schema file "[^"]*bad\.json" line 2, at \/type: /],
    ['an override with a missing schema file',
        loc('/api/v1/', 'sg_sign_schema auto;',
            "sg_sign_method_schema session/status $sdir/none.json;"),
        qr/sg_sign_method_schema/, qr/cannot open schema file /],
);

for my $name ('Session/status', 'session//status', '/session/status',
    'session/status/', 'session/st%61tus', 'session.status', 'a-b', 'a1',
    'session/status?x', '""')
{
    my $shown = $name eq '""' ? '' : $name;
    push @bad_t, ["the method name '$name'",
        loc('/api/v1/', 'sg_sign_schema auto;',
            "sg_sign_method_schema $name object;"),
        qr/sg_sign_method_schema/,
        qr/sg_sign: "\Q$shown\E" is not a method name: segments of a-z /];
}

for my $case (@bad_t) {
    my ($what, $text, $line_re, $msg_re) = @$case;
    my ($r, $out) = nginx_t($text);
    my $line = $t->conf_line($line_re);
    $line = $t->conf_line(qr/sg_sign_method_schema/) + 1
        if $what eq 'a method named twice';
    isnt $r->{rc}, 0, "nginx -t refuses $what";
    like $out, qr/\[emerg\] [^\n]*in \Q$conf\E:$line$/m,
        "the refusal of $what names the file and line" or diag $out;
    like $out, $msg_re, "the refusal of $what says why" or diag $out;
}

{
    my ($r, $out) = nginx_t("        sg_sign_method_schema a object;\n"
        . loc('/api/v1/', 'sg_sign_schema auto;'));
    isnt $r->{rc}, 0, 'nginx -t refuses sg_sign_method_schema at server level';
    like $out, qr/"sg_sign_method_schema" directive is not allowed here/,
        'it is a location directive';
}

for my $case (
    ['a prefix location', loc('/api/v1/', 'sg_sign_schema auto;')],
    ['auto inherited from the server by prefix locations',
        "        sg_sign_schema auto unknown=object;\n" . loc('/api/v1/')
        . loc('/b/') . loc('= /c', 'sg_sign_schema object;')],
    ['auto in a nested prefix location',
        "        location /api/ {\n" . loc('/api/v1/', 'sg_sign_schema auto;')
        . "        }\n"],
    ['overrides by file and by name',
        loc('/api/v1/', 'sg_sign_schema auto;',
            "sg_sign_method_schema session/start/payout $MARKER_SCHEMA;",
            'sg_sign_method_schema a/b_c object;')])
{
    my ($what, $text) = @$case;
    my ($r, $out) = nginx_t($text);
    is $r->{rc}, 0, "nginx -t accepts $what" or diag $out;
}

done_testing;
