#!/usr/bin/perl
# Issue 8, at run time: nothing a caller chooses reaches the provider,
# whatever else nginx does around an sg_sign location.
#
#   A  the caller's X-PARTNER-PROJECT / -SIGN / -SUBMERCHANT, in any case,
#      count and spelling (`_` for `-`), are gone before the access phase;
#      other X-PARTNER-* headers pass;
#   B  a refused request sent on by error_page carries neither those
#      headers nor any byte of the caller's body;
#   C  subrequests (mirror, auth_request) into an sg_sign location are
#      refused (403 subrequest_refused), never signed or proxied;
#   D  session_id with a control character or over 128 bytes is refused,
#      so $sg_sign_session_id never splits a header;
#   E  the outgoing framing is the gateway's: one Content-Type, no
#      Content-Encoding, no digests of the caller's bytes, the
#      Content-Length of the signed body.
#
# One test per behaviour: each collects what is wrong and reports it at once.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use SgSign::Test qw(error_ok);

my $t = SgSign::Test->new;
my $key = $t->rsa_key('partner');
$t->start_provider(public_key => $key->{pub});

# recording upstreams that are not the provider
my $fallback = $t->start_mock('fallback');
my $front = $t->start_mock('front');
my $authz = $t->start_mock('authz');

my $d = $t->dir;
my $port = $t->port;
my $port_u = SgSign::Test::free_port();     # underscores_in_headers on
my $port_i = SgSign::Test::free_port();     # ignore_invalid_headers off

my $PAYOUT = '/api/v1/session/start/payout';
my $proxy = 'proxy_pass http://provider; proxy_http_version 1.1; '
    . 'proxy_set_header Connection "";';

# the sg_sign locations every server has: plain, and with a submerchant
sub payout_locations {
    my ($name) = @_;
    return <<"EOF";
        location = /api/v1/session/start/payout {
            sg_sign on;
            log_subrequest on;
            access_log $d/logs/payout-$name.log sgsub;
            proxy_read_timeout 2s;
            $proxy
        }
        location = /sub/api/v1/session/start/payout {
            sg_sign on;
            sg_sign_submerchant tenant-7;
            $proxy
        }
EOF
}


$t->start(<<"EOF");
    log_format sgsub 'req="\$request" uri=\$uri status=\$status '
                     'sg=\$sg_sign_status up=\$upstream_addr '
                     'ups=\$upstream_status';

    sg_sign_project test_project;
    sg_sign_key     $key->{key};

    server {
        listen 127.0.0.1:$port;
@{[ payout_locations('default') ]}
        location = /d/api/v1/session/start/payout {
            sg_sign on;
            add_header X-Session \$sg_sign_session_id always;
            proxy_pass http://provider;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Session \$sg_sign_session_id;
        }
        location = /d/object {
            sg_sign on;
            sg_sign_schema object;
            add_header X-Session \$sg_sign_session_id always;
            proxy_pass http://provider;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Session \$sg_sign_session_id;
        }

        location = /front {
            mirror /api/v1/session/start/payout;
            proxy_pass http://127.0.0.1:$front->{port};
        }
        location = /guarded {
            auth_request /api/v1/session/start/payout;
            proxy_pass http://127.0.0.1:$front->{port};
        }
    }

    server {
        listen 127.0.0.1:$port_u;
        underscores_in_headers on;
@{[ payout_locations('underscores') ]}
        location = /eb/api/v1/session/start/payout {
            sg_sign on;
            sg_sign_max_body_size 1k;
            client_max_body_size 0;     # error_page 413 needs it
            error_page 400 405 413 415 = \@fallback;
            access_log $d/logs/b.log sgsub;
            $proxy
        }
        location = /deny/api/v1/session/start/payout {
            sg_sign on;
            deny all;
            error_page 403 = \@fallback;
            access_log $d/logs/b.log sgsub;
            $proxy
        }
        location \@fallback {
            proxy_pass http://127.0.0.1:$fallback->{port};
            proxy_read_timeout 1s;
            access_log $d/logs/b.log sgsub;
        }

        location = /authz/api/v1/session/start/payout {
            sg_sign on;
            auth_request /authcheck;
            $proxy
        }
        location = /authcheck {
            internal;
            proxy_pass http://127.0.0.1:$authz->{port};
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Mock-Status 200;
        }
    }

    server {
        listen 127.0.0.1:$port_i;
        ignore_invalid_headers off;
@{[ payout_locations('invalid') ]}
    }
EOF


# ------------------------------------------------- helpers

my %AUTH = map { $_ => 1 } qw(x-partner-project x-partner-sign
    x-partner-submerchant);

# a header name as CGI-style servers read it
sub norm { my $n = lc shift; $n =~ tr/_/-/; return $n }

# the values of every header whose normalized name is $name
sub norm_values {
    my ($up, $name) = @_;
    return map { $_->[1] } grep { norm($_->[0]) eq $name } @{ $up->{headers} };
}

# the auth headers a request carries, as "name: value"
sub auth_headers {
    my ($up) = @_;
    return map { "$_->[0]: $_->[1]" } grep { $AUTH{ norm($_->[0]) } }
        @{ $up->{headers} };
}

sub check {
    my ($name, @why) = @_;
    ok !@why, $name;
    diag "  $_" for @why;
    return !@why;
}

# with another port than $t->port: the harness sends to $t->{port}
sub on_port {
    my ($p, $code) = @_;
    local $t->{port} = $p;
    return $code->();
}

# what is wrong with the one request the provider must have received for a
# signed payout: it is ours alone (auth headers, framing, signature)
sub signed_problems {
    my ($res, %o) = @_;
    my @why;
    push @why, 'status: expected 200, got ' . ($res->status // 'no answer')
        . ' ' . substr($res->body // '', 0, 200)
        unless ($res->status // '') eq '200';
    my @up = $t->upstream_requests;
    return (@why, 'the provider received ' . @up . ' requests, expected 1')
        unless @up == 1;
    my $up = $up[0];
    my $body = $up->body;

    my @sig = norm_values($up, 'x-partner-sign');
    push @why, 'X-PARTNER-SIGN (any spelling): expected exactly ours, got '
        . scalar(@sig) . ' header(s): '
        . join(' ', map { substr($_, 0, 12) } @sig) unless @sig == 1;
    push @why, 'X-PARTNER-SIGN does not verify over the received body '
        . '(openssl)' unless @sig == 1 && $t->verify_signature($body,
            $sig[0], $key->{pub});

    my @proj = norm_values($up, 'x-partner-project');
    push @why, 'X-PARTNER-PROJECT (any spelling): expected exactly '
        . "test_project, got: @proj"
        unless "@proj" eq 'test_project' && @proj == 1;

    my @sub = norm_values($up, 'x-partner-submerchant');
    my $want = $o{submerchant} // '';
    push @why, 'X-PARTNER-SUBMERCHANT (any spelling): expected '
        . ($want eq '' ? 'none' : $want) . ", got: @sub"
        unless "@sub" eq $want && @sub == ($want eq '' ? 0 : 1);

    my @ct = $up->header('Content-Type');
    push @why, 'Content-Type: expected exactly one application/json, got '
        . scalar(@ct) . ': ' . join(' | ', @ct)
        unless @ct == 1 && $ct[0] eq 'application/json';
    my @cl = $up->header('Content-Length');
    push @why, 'Content-Length: expected exactly one, equal to the '
        . 'received body (' . length($body) . "), got @cl"
        unless @cl == 1 && $cl[0] eq length($body);
    my @te = $up->header('Transfer-Encoding');
    push @why, "Transfer-Encoding reached upstream: @te" if @te;

    for my $h (@{ $o{passes} // [] }) {
        my @got = $up->header($h->[0]);
        push @why, "$h->[0]: expected exactly [$h->[1]], got [@got]"
            unless @got == 1 && $got[0] eq $h->[1]
            && grep { $_->[0] eq $h->[0] } @{ $up->{headers} };
    }
    for my $h (@{ $o{absent} // [] }) {
        my @got = $up->header($h);
        push @why, "$h reached upstream: @got" if @got;
    }
    return @why;
}

# the provider received nothing: no recorded request and, in the default
# server's payout location log, no line for $marker with an upstream address
# (the mock records only whole requests: one promised a body it never got
# is seen there)
sub provider_quiet {
    my ($marker) = @_;
    my @why;
    my $n = $t->upstream_count;
    push @why, "the provider received $n request(s)" if $n;
    if (defined $marker) {
        my $log = SgSign::Test::read_file("$d/logs/payout-default.log") // '';
        push @why, "the payout location contacted the provider: $_"
            for grep { /\Q$marker\E/ && !/ up=- / } split /\n/, $log;
    }
    return @why;
}

sub valid_payout {
    my ($sid) = @_;
    return qq({"session_id":"$sid","amount_details":)
        . '{"amount":100,"currency":"USD"}}';
}


# ------------------------------------------------- A: strip early

# [what, headers sent]
my @forged = (
    ['duplicated mixed-case X-PARTNER-SIGN',
        [['X-PARTNER-SIGN', 'Zm9yZ2Vk'], ['x-partner-sign', 'Zm9yZ2Vl']]],
    ['X_PARTNER_SIGN (underscores)', [['X_PARTNER_SIGN', 'Zm9yZ2Vk']]],
    ['x_partner_submerchant (underscores)',
        [['x_partner_submerchant', 'evil_sub']]],
    ['X_Partner_Project (underscores)', [['X_Partner_Project', 'evil']]],
    ['X-PARTNER_SIGN (one underscore)', [['X-PARTNER_SIGN', 'Zm9yZ2Vk']]],
    ['x_partner-submerchant and X-Partner_Project (mixed)',
        [['x_partner-submerchant', 'evil_sub'],
         ['X-Partner_Project', 'evil']]],
    ['all three, every spelling, several times',
        [['X_PARTNER_SIGN', 'Zm9yZ2Vk'], ['x-partner-sign', 'Zm9yZ2Vl'],
         ['X_PARTNER_PROJECT', 'e1'], ['x-partner-project', 'e2'],
         ['X-PARTNER-SUBMERCHANT', 'e3'], ['x_partner_submerchant', 'e4'],
         ['X_PARTNER_SIGN', 'Zm9yZ2Vm']]],
);

my @servers = (
    ['default header parsing', $port],
    ['underscores_in_headers on', $port_u],
    ['ignore_invalid_headers off', $port_i],
);

for my $srv (@servers) {
    my ($sname, $p) = @$srv;
    for my $case (@forged) {
        my ($what, $headers) = @$case;
        for my $loc (['', undef], ['/sub', 'tenant-7']) {
            my ($prefix, $sub) = @$loc;
            $t->clear_upstream;
            my $res = on_port($p, sub {
                $t->post(valid_payout('a1'), path => "$prefix$PAYOUT",
                    headers => $headers) });
            check("A ($sname): forged $what never reach upstream, only "
                . 'ours do' . ($sub ? ' (sg_sign_submerchant set)' : ''),
                signed_problems($res, submerchant => $sub));
        }
    }

    # other X-PARTNER-* headers are the caller's: they pass unchanged
    my @idem = (['X-PARTNER-IDEMPOTENCY-KEY', 'retry-Key_0042']);
    push @idem, ['X_PARTNER_IDEMPOTENCY_KEY', 'retry-Key_0043']
        if $p != $port;     # nginx itself drops it by default
    $t->clear_upstream;
    my $res = on_port($p, sub {
        $t->post(valid_payout('a2'), headers => [@idem,
            ['X-PARTNER-SIGN', 'Zm9yZ2Vl']])
    });
    check("A ($sname): "
        . join(' and ', map { $_->[0] } @idem)
        . ' pass unchanged next to a forged X-PARTNER-SIGN',
        signed_problems($res, passes => \@idem));
}

{
    # removed before the access phase: an auth_request subrequest (which
    # shares the request's headers) already sees them gone
    my @forge = (['X-PARTNER-SIGN', 'Zm9yZ2Vk'], ['X_PARTNER_SIGN', 'Zm9yZ2Vl'],
        ['X-PARTNER-PROJECT', 'evil'], ['x_partner_submerchant', 'evil_sub']);
    $t->clear_upstream;
    $t->clear_upstream($authz->{record_dir});
    my $res = on_port($port_u, sub {
        $t->post(valid_payout('a3'), path => "/authz$PAYOUT",
            headers => \@forge) });
    my @why = signed_problems($res);
    my @seen = $t->upstream_requests($authz->{record_dir});
    push @why, 'the auth_request subrequest did not reach its mock'
        unless @seen;
    push @why, "the auth_request subrequest carried: $_"
        for map { auth_headers($_) } @seen;
    check('A: the caller\'s auth headers are gone before the access phase '
        . '(an auth_request in the sg_sign location never sees them)', @why);
}


# ------------------------------------------------- B: error_page

my @forge_b = (['X-PARTNER-SIGN', 'Zm9yZ2Vk'], ['X-PARTNER-PROJECT', 'evil'],
    ['X-PARTNER-SUBMERCHANT', 'evil_sub'], ['X_PARTNER_SIGN', 'Zm9yZ2Vl'],
    ['x_partner_project', 'evil2'], ['X_Partner_Submerchant', 'evil_sub2'],
    ['x-partner-sign', 'Zm9yZ2Vm']);

my $big = '{"session_id":"CALLERBODY","metadata":"' . ('CALLERBODY' x 150)
    . '"}';

# [what, path, request options]
my @refusals = (
    ['400 invalid_json', "/eb$PAYOUT",
        { body => '{"session_id":"CALLERBODY",' }],
    ['400 invalid_request', "/eb$PAYOUT",
        { body => '{"session_id":"CALLERBODY","amount_details":'
            . '{"amount":1.5,"currency":"usd"}}' }],
    ['405 (GET with a body)', "/eb$PAYOUT",
        { method => 'GET', body => valid_payout('CALLERBODY') }],
    ['415 (text/plain)', "/eb$PAYOUT",
        { body => valid_payout('CALLERBODY'), content_type => 'text/plain' }],
    ['413 (Content-Length over sg_sign_max_body_size)', "/eb$PAYOUT",
        { body => $big }],
    ['413 (chunked body crossing sg_sign_max_body_size)', "/eb$PAYOUT",
        { body => $big, chunked => [unpack '(a400)*', $big] }],
    ['403 (deny all)', "/deny$PAYOUT",
        { body => valid_payout('CALLERBODY') }],
);

my $case_n = 0;
for my $case (@refusals) {
    my ($what, $path, $o) = @$case;
    my $marker = 'case=' . ++$case_n;
    $t->clear_upstream;
    $t->clear_upstream($fallback->{record_dir});
    my $res = on_port($port_u, sub {
        $t->request(%$o, path => "$path?$marker", headers => \@forge_b) });

    my @why = provider_quiet();
    push @why, 'no answer' unless defined $res->status;

    # the request's last line in the log (the fallback's, after a redirect)
    my $line = SgSign::Test::wait_for(sub {
        my $log = SgSign::Test::read_file("$d/logs/b.log") // '';
        my ($l) = grep { /\Q$marker\E / } split /\n/, $log;
        return $l;
    }, 5);
    push @why, 'no access log line for the request' unless defined $line;
    push @why, 'the fallback upstream was left waiting for a body that '
        . "never came (it had been promised one): $line"
        if defined $line && $line =~ / ups=.*50[24]/;
    my $up_port = $t->up_port;
    push @why, "the provider was contacted on the way: $line"
        if defined $line && $line =~ / up=[^ ]*:$up_port\b/;

    for my $up ($t->upstream_requests($fallback->{record_dir})) {
        push @why, "the fallback received: $_" for auth_headers($up);
        push @why, 'the fallback received ' . length($up->body)
            . ' body bytes of the caller' if length $up->body;
        push @why, 'the fallback received caller body bytes in the head'
            if $up->head =~ /CALLERBODY/;
    }
    check("B: error_page after a $what sends no forged auth header and "
        . 'no caller body byte to the fallback, nothing to the provider',
        @why);
}


# ------------------------------------------------- C: subrequests

# posts a payout with forged auth headers to $marker; returns the response
# and the subrequest's access log line (log_subrequest on)
sub subrequest_case {
    my ($marker, $kind) = @_;
    $t->clear_upstream;
    $t->clear_upstream($front->{record_dir});
    my $res = $t->post(valid_payout($kind), path => $marker,
        headers => [['X-PARTNER-SIGN', 'Zm9yZ2Vk'],
            ['X-PARTNER-PROJECT', 'evil']]);
    # a mirror runs in the background: give it time to show up
    my $line = SgSign::Test::wait_for(sub {
        my $log = SgSign::Test::read_file("$d/logs/payout-default.log") // '';
        my ($l) = grep { /\Q$marker\E/ } split /\n/, $log;
        return $l;
    }, 4);
    my @why;
    push @why, "no access log line for the $kind subrequest "
        . '(log_subrequest on)' unless defined $line;
    push @why, "expected status=403 sg=subrequest_refused up=-, got: $line"
        if defined $line
        && $line !~ / status=403 sg=subrequest_refused up=- /;
    check("C: the $kind subrequest is logged as 403 subrequest_refused",
        @why);
    return $res;
}

{
    my $marker = '/front?c=mirror';
    subrequest_case($marker, 'mirror');
    SgSign::Test::wait_for(sub { $t->upstream_count }, 1);

    check('C: a mirror subrequest into an sg_sign location reaches nothing '
        . 'upstream', provider_quiet($marker));
}

{
    my $marker = '/guarded?c=auth';
    my $res = subrequest_case($marker, 'auth_request');

    my @why = provider_quiet($marker);
    push @why, 'the client got ' . ($res->status // 'no answer')
        . ', expected 403' unless ($res->status // '') eq '403';
    my $n = $t->upstream_requests($front->{record_dir});
    push @why, "the guarded upstream received $n request(s)" if $n;
    check('C: an auth_request subrequest into an sg_sign location is '
        . 'refused: the client gets 403, nothing goes upstream', @why);
}


# ------------------------------------------------- D: session_id

# a JSON string literal (as written in the body) and what it decodes to
my @refused_sid = (
    ['CR LF and a header', '"s1\r\nX-PARTNER-SUBMERCHANT: evil"'],
    ['a lone LF', '"s1\nX-Injected: evil"'],
    ['a lone CR', '"s1\rX-Injected: evil"'],
    ['U+0000', '"s1\u0000evil"'],
    ['a tab', '"s1\tevil"'],
    ['U+001F', '"s1\u001fevil"'],
    ['U+007F written \u007f', '"s1\u007fevil"'],
    ['U+007F as a raw byte', "\"s1\x7fevil\""],
    ['129 ASCII bytes', '"' . ('evil' x 32) . 'e"'],
    ['129 bytes of UTF-8 (43 x U+20AC)', '"' . ("\xe2\x82\xac" x 43) . '"'],
    ['130 bytes written as 65 \u00e9 escapes',
        '"' . ('\u00e9' x 65) . '"'],
);
my @accepted_sid = (
    ['exactly 128 ASCII bytes', '"' . ('good' x 32) . '"', 'good' x 32],
    ['exactly 128 bytes of UTF-8 (64 x U+00E9)',
        '"' . ("\xc3\xa9" x 64) . '"', "\xc3\xa9" x 64],
    ['exactly 128 bytes written as 64 \u00e9 escapes',
        '"' . ('\u00e9' x 64) . '"', "\xc3\xa9" x 64],
);

my @schemas = (
    ['default schema', "/d$PAYOUT", sub {
        qq({"session_id":$_[0],"amount_details":)
            . '{"amount":100,"currency":"usd"}}' }],
    ['sg_sign_schema object', '/d/object', sub {
        qq({"session_id":$_[0],"other":1}) }],
);

for my $schema (@schemas) {
    my ($sname, $path, $make) = @$schema;

    for my $case (@refused_sid) {
        my ($what, $literal) = @$case;
        $t->clear_upstream;
        my $log_from = length $t->error_log;
        my $res = $t->post($make->($literal), path => $path);
        my @why = provider_quiet();

        my ($head) = split /\r\n\r\n/, $res->{raw} // '', 2;
        push @why, 'the response carries X-PARTNER-SUBMERCHANT'
            if $res->header('X-PARTNER-SUBMERCHANT');
        push @why, 'the response carries X-Injected'
            if $res->header('X-Injected');
        (my $lines = $head // '') =~ s/\r\n/\n/g;
        push @why, 'the response head has a CR, NUL or DEL inside a line'
            if $lines =~ /[\r\x00\x7f]/;
        push @why, "the response head has an injected line: $_"
            for grep { /\A(?:X-PARTNER|X-Injected)/i } split /\n/, $lines;
        push @why, 'X-Session carries a control character'
            if grep { /[\x00-\x1f\x7f]/ } $res->header('X-Session');
        push @why, 'the response body echoes the value'
            if $res->body =~ /evil|SUBMERCHANT|\xe2\x82\xac|\\u00e9|\xc3\xa9/;
        push @why, 'the error log echoes the value'
            if $t->error_log($log_from) =~ /evil|\xe2\x82\xac|\xc3\xa9/;

        error_ok($res, 400, 'invalid_request', qr/session_id/,
            "D ($sname): a session_id with $what is 400 invalid_request "
            . 'naming session_id');
        check("D ($sname): a session_id with $what is forwarded nowhere "
            . 'and splits no header, the value is never echoed', @why);
    }

    for my $case (@accepted_sid) {
        my ($what, $literal, $decoded) = @$case;
        $t->clear_upstream;
        my $res = $t->post($make->($literal), path => $path);
        my @why = signed_problems($res);
        my ($up) = $t->upstream_requests;
        my @x = $res->header('X-Session');
        push @why, "the response's X-Session is not the session_id: @x"
            unless @x == 1 && $x[0] eq $decoded;
        my @ux = $up ? $up->header('X-Session') : ();
        push @why, "upstream X-Session is not the session_id: @ux"
            unless @ux == 1 && $ux[0] eq $decoded;
        check("D ($sname): a session_id of $what is signed", @why);
    }
}


# ------------------------------------------------- E: framing

# non-canonical on purpose: what the caller sent is not what is signed
my $E_BODY = '{ "session_id" : "e1", "amount_details" : '
    . '{ "currency" : "USD", "amount" : 100 } }';

# [what, request options, headers that must not reach upstream]
my @framed = (
    ['no Content-Type', { content_type => undef }],
    ['Content-Type: application/json; charset=utf-8',
        { content_type => 'application/json; charset=utf-8' }],
    ['Content-Type: Application/JSON;charset="UTF-8"',
        { content_type => 'Application/JSON;charset="UTF-8"' }],
    ['two Content-Type: application/json headers',
        { headers => [['Content-Type', 'application/json']] }],
    ['Content-Encoding: identity',
        { headers => [['Content-Encoding', 'identity']] },
        ['Content-Encoding']],
    ['a Digest header', { headers => [['Digest',
        'SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=']] }],
    ['a Content-Digest header', { headers => [['Content-Digest',
        'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:']] }],
    ['a Repr-Digest header', { headers => [['Repr-Digest',
        'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:']] }],
    ['a Content-MD5 header', { headers => [['Content-MD5',
        'Q2hlY2sgSW50ZWdyaXR5IQ==']] }],
    ['a chunked body', { chunked => [unpack '(a7)*', $E_BODY] }],
);
for my $case (@framed) {
    my ($what, $o) = @$case;
    $t->clear_upstream;
    my @absent = (qw(Digest Content-Digest Repr-Digest Content-MD5
        Content-Encoding));
    my $res = $t->post($E_BODY, %$o);
    check("E: with $what the provider receives one Content-Type: "
        . 'application/json, the signed body and its Content-Length, no '
        . 'Content-Encoding or digest',
        signed_problems($res, absent => \@absent));
}

my @unframed = (
    ['Content-Type charset=iso-8859-1',
        { content_type => 'application/json; charset=iso-8859-1' }],
    ['Content-Type charset=utf-16',
        { content_type => 'application/json; charset=utf-16' }],
    ['a second Content-Type: text/plain',
        { headers => [['Content-Type', 'text/plain']] }],
    ['a first Content-Type: text/plain, then application/json',
        { content_type => 'text/plain',
            headers => [['Content-Type', 'application/json']] }],
    ['Content-Encoding: gzip', { headers => [['Content-Encoding', 'gzip']] }],
    ['Content-Encoding: br', { headers => [['Content-Encoding', 'br']] }],
    ['Content-Encoding: gzip, identity',
        { headers => [['Content-Encoding', 'gzip, identity']] }],
    ['two Content-Encoding headers, identity then gzip',
        { headers => [['Content-Encoding', 'identity'],
            ['Content-Encoding', 'gzip']] }],
);
for my $case (@unframed) {
    my ($what, $o) = @$case;
    $t->clear_upstream;
    my $res = $t->post($E_BODY, %$o);
    my @why = provider_quiet();
    error_ok($res, 415, 'unsupported_media_type', undef,
        "E: $what is 415 unsupported_media_type");
    check("E: with $what nothing reaches the provider", @why);
}

done_testing;
