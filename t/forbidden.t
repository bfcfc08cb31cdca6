#!/usr/bin/perl
# Issue 8, at configuration time: settings that would make the provider
# receive bytes or auth headers other than the gateway's own are refused by
# `nginx -t` in an sg_sign location, set there or inherited from server or
# http, naming the directive and the file:line of `sg_sign on`. The same
# settings stay legal where sg_sign is not on, and harmless neighbours
# (Host, Connection, X-Request-Id, `mirror off`) stay legal in it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use SgSign::Test qw(key_material_lines);

my $t = SgSign::Test->new;
my $key = $t->rsa_key('partner');
my $path = $t->conf_path;

my @secrets = ('PRIVATE KEY', key_material_lines($key->{pem}),
    key_material_lines($key->{plain_pem}));
my $printed = '';

# a server with one sg_sign location and one plain location; text for each
# level: http, server, location (the sg_sign one), plain
sub conf {
    my (%o) = @_;
    my $port = $t->port;
    my %l = map { $_ => $o{$_} // '' } qw(http server location plain);
    return <<"EOF";
    sg_sign_project test_project;
    sg_sign_key     $key->{key};
    $l{http}

    server {
        listen 127.0.0.1:$port;
        $l{server}

        location = /api/v1/session/start/payout {
            sg_sign on;
            $l{location}
            proxy_pass http://provider;
        }

        location = /plain {
            $l{plain}
            proxy_pass http://provider;
        }
    }
EOF
}

sub nginx_t {
    my (%o) = @_;
    unlink $t->error_log_path;
    my $r = $t->nginx_test(conf(%o));
    $printed .= $r->{output} . $t->error_log;
    return $r;
}

# [what, directive line, what the message must name]
my @forbidden = (
    ['proxy_set_body', 'proxy_set_body "{}";', 'proxy_set_body'],
    ['proxy_pass_request_body off', 'proxy_pass_request_body off;',
        'proxy_pass_request_body'],
    ['proxy_pass_request_headers off', 'proxy_pass_request_headers off;',
        'proxy_pass_request_headers'],
    (map { ["proxy_set_header $_->[0]", "proxy_set_header $_->[0] $_->[1];",
            'proxy_set_header'] }
        ['Content-Type', 'text/plain'],
        ['content-type', 'application/json'],
        ['Content-Length', '5'],
        ['Transfer-Encoding', 'chunked'],
        ['Content-Encoding', 'gzip'],
        ['X-PARTNER-SIGN', 'Zm9yZ2Vk'],
        ['X-Partner-Sign', '""'],
        ['X-PARTNER-PROJECT', 'other_project'],
        ['X-PARTNER-SUBMERCHANT', '$http_x_tenant'],
        ['X-Partner-Idempotency-Key', '$request_id'],
        ['x_partner_sign', 'Zm9yZ2Vk'],
        ['X_Partner_Submerchant', 'evil']),
    ['mirror /somewhere', 'mirror /somewhere;', 'mirror'],
    # nginx refuses client_max_body_size before the gateway's rewrite phase
    ['error_page 413 with a client_max_body_size',
        'error_page 413 = /too-large;', 'client_max_body_size 0'],
    ['error_page 413 with client_max_body_size 2m',
        'client_max_body_size 2m; error_page 400 413 /too-large;',
        'client_max_body_size 0'],
);

for my $case (@forbidden) {
    my ($what, $line, $names) = @$case;
    for my $level (qw(location server http)) {
        my $r = nginx_t($level => $line);
        my $want = $t->conf_line(qr/^\s*sg_sign on;/);
        my @why;
        push @why, 'nginx -t accepted it' if $r->{rc} == 0;
        push @why, "the message does not name $names"
            unless $r->{output} =~ /\Q$names\E/;
        push @why, "the message does not name $path:$want (sg_sign on)"
            unless $r->{output} =~ /\Q$path\E:$want\b/;
        ok !@why, "nginx -t refuses $what "
            . ($level eq 'location' ? 'in an sg_sign location'
                : "set at $level level, inherited by an sg_sign location")
            . ', naming it and the line of sg_sign on';
        diag "  $_" for @why;
        diag "  output: $r->{output}" if @why && $r->{rc} != 0;
    }

    my $r = nginx_t(plain => $line);
    is $r->{rc}, 0, "nginx -t accepts $what in a location without sg_sign"
        or diag $r->{output};
}

# the other upstream modules' *_pass (location-only directives): the
# location passes to them instead of proxy_pass
sub pass_conf {
    my ($sign_loc, $plain) = @_;
    my $port = $t->port;
    return <<"EOF";
    sg_sign_project test_project;
    sg_sign_key     $key->{key};

    server {
        listen 127.0.0.1:$port;

        location = /api/v1/session/start/payout {
            sg_sign on;
            $sign_loc
        }

        location = /plain {
            $plain
        }
    }
EOF
}

for my $case (['fastcgi_pass', 'fastcgi_pass 127.0.0.1:9000;'],
    ['uwsgi_pass', 'uwsgi_pass 127.0.0.1:9000;'],
    ['scgi_pass', 'scgi_pass 127.0.0.1:9000;'],
    ['grpc_pass', 'grpc_pass grpc://127.0.0.1:9000;'],
    ['memcached_pass', 'set $memcached_key $uri; '
        . 'memcached_pass 127.0.0.1:11211;'])
{
    my ($name, $pass) = @$case;
    for my $where (['in an sg_sign location', $pass],
        ['in an if block of an sg_sign location',
            "if (\$request_method = POST) { $pass } proxy_pass http://provider;"])
    {
        my $r = $t->nginx_test(pass_conf($where->[1], ''));
        $printed .= $r->{output};
        my $want = $t->conf_line(qr/^\s*sg_sign on;/);
        ok $r->{rc} != 0 && $r->{output} =~ /"\Q$name\E" cannot be used where "sg_sign" is on: use proxy_pass, in \Q$path\E:$want\b/,
            "nginx -t refuses $name $where->[0], naming it and the line of "
            . 'sg_sign on' or diag $r->{output};
    }
    my $r = $t->nginx_test(pass_conf('proxy_pass http://provider;', $pass));
    is $r->{rc}, 0, "nginx -t accepts $name in a location without sg_sign"
        or diag $r->{output};
}

# proxy_cache: its zone is declared at http level
{
    my $zone = 'proxy_cache_path ' . $t->dir . '/cache keys_zone=c:1m;';
    for my $level (qw(location server http)) {
        my %o = (http => $zone);
        $o{$level} = ($level eq 'http' ? "$zone " : '') . 'proxy_cache c;';
        my $r = nginx_t(%o);
        my $want = $t->conf_line(qr/^\s*sg_sign on;/);
        ok $r->{rc} != 0 && $r->{output} =~ /"proxy_cache" cannot be used where "sg_sign" is on: one request's cached answer would be given to another, in \Q$path\E:$want\b/,
            "nginx -t refuses proxy_cache "
            . ($level eq 'location' ? 'in an sg_sign location'
                : "set at $level level, inherited by an sg_sign location")
            . ', naming the line of sg_sign on' or diag $r->{output};
    }
    my $r = nginx_t(http => $zone, server => 'proxy_cache c;',
        location => 'proxy_cache off;');
    is $r->{rc}, 0, 'nginx -t accepts a server-level proxy_cache that the '
        . 'sg_sign location turns off' or diag $r->{output};
    $r = nginx_t(http => $zone, plain => 'proxy_cache c;');
    is $r->{rc}, 0, 'nginx -t accepts proxy_cache in a location without '
        . 'sg_sign' or diag $r->{output};
}

# what an sg_sign location may set
my @allowed = (
    ['proxy_set_header Host', location => 'proxy_set_header Host example.com;'],
    ['proxy_set_header Connection ""',
        location => 'proxy_set_header Connection "";'],
    ['proxy_set_header X-Request-Id',
        location => 'proxy_set_header X-Request-Id $request_id;'],
    ['mirror off', location => 'mirror off;'],
    ['error_page 413 with client_max_body_size 0',
        location => 'client_max_body_size 0; error_page 413 /too-large;'],
    ['error_page 400 415 500', location => 'error_page 400 415 500 /err;'],
    ['mirror off at server level', server => 'mirror off;'],
    ['Host, Connection and X-Request-Id together with mirror off',
        location => 'proxy_set_header Host example.com; '
            . 'proxy_set_header Connection ""; '
            . 'proxy_set_header X-Request-Id $request_id; mirror off;'],
    # set at server level but not inherited: the location has its own
    ['a server-level proxy_set_header X-PARTNER-SIGN that the location '
        . 'replaces with its own proxy_set_header',
        server => 'proxy_set_header X-PARTNER-SIGN Zm9yZ2Vk;',
        location => 'proxy_set_header Host example.com;'],
    ['a server-level proxy_set_header Content-Type that the location '
        . 'replaces with its own proxy_set_header',
        server => 'proxy_set_header Content-Type text/plain;',
        location => 'proxy_set_header Connection "";'],
    ['a server-level mirror the location turns off',
        server => 'mirror /somewhere;', location => 'mirror off;'],
    ['a server-level proxy_pass_request_body off the location turns on',
        server => 'proxy_pass_request_body off;',
        location => 'proxy_pass_request_body on;'],
    ['a server-level proxy_pass_request_headers off the location turns on',
        server => 'proxy_pass_request_headers off;',
        location => 'proxy_pass_request_headers on;'],
);
for my $case (@allowed) {
    my ($what, %o) = @$case;
    my $r = nginx_t(%o);
    is $r->{rc}, 0, "nginx -t accepts $what in an sg_sign location"
        or diag $r->{output};
}

{
    my @leak = grep { index($printed, $_) >= 0 } @secrets;
    ok !@leak, 'no key material in any nginx -t output or error log'
        or diag 'leaked: ' . join ', ', map { substr($_, 0, 20) } @leak;
}

done_testing;
