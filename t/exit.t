#!/usr/bin/perl
# A signed payout that goes on from its sg_sign location to another one:
# error_page after the provider failed (refused connection, a 5xx with
# proxy_intercept_errors, a timeout), try_files; or a subrequest made after
# signing (add_after_body, SSI).  The other location gets neither the
# gateway's X-PARTNER-* headers nor the body: a signed payout never reaches
# a second upstream that could replay it.  Failing over to
# another sg_sign location signs again.  post_action (a copy of the request
# after the response) fails nginx -t.  The metrics count the provider's
# answer, not the other location's.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use MIME::Base64 ();
use SgSign::Test;

my $t = SgSign::Test->new;
my $key = $t->rsa_key('partner');
$t->start_provider(public_key => $key->{pub});

# checks signatures: answers 200 to a signed request, 401 to anything else
my $copy = $t->start_mock('copy', public_key => $key->{pub});
my $slow = $t->start_mock('slow', mode => 'hang');
my $dead = SgSign::Test::free_port();          # nothing listens there

my $PAYOUT = $SgSign::Test::PAYOUT_PATH;
my $up = $t->up_port;
my $sign = "sg_sign on; sg_sign_project test_project; "
    . "sg_sign_key $key->{key};";
my $to_copy = "proxy_pass http://127.0.0.1:$copy->{port}; "
    . 'proxy_set_header X-Mock-Status "";';

$t->start(<<"EOF");
    sg_sign_metrics_zone sg 1m;
    server {
        listen 127.0.0.1:@{[$t->port]};

        # the provider refuses the connection: nginx's 502
        location = /refused$PAYOUT {
            $sign
            proxy_pass http://127.0.0.1:$dead$PAYOUT;
            error_page 502 = \@copy;
        }
        # the provider answers 503 (X-Mock-Status), intercepted
        location = /intercepted$PAYOUT {
            $sign
            proxy_pass http://127.0.0.1:$up$PAYOUT;
            proxy_intercept_errors on;
            error_page 500 503 = /copy$PAYOUT;
        }
        # the provider never answers: nginx's 504
        location = /timeout$PAYOUT {
            $sign
            proxy_pass http://127.0.0.1:$slow->{port}$PAYOUT;
            proxy_read_timeout 300ms;
            error_page 504 = \@copy;
        }
        # try_files sends it on after the body was signed
        location = /try$PAYOUT {
            $sign
            try_files /nonexistent \@copy;
        }
        # subrequests made after signing share the headers and the body
        location = /addition$PAYOUT {
            $sign
            proxy_pass http://127.0.0.1:$up$PAYOUT;
            add_after_body /copy/after;
            addition_types *;
        }
        location = /ssi$PAYOUT {
            $sign
            proxy_pass http://127.0.0.1:$up$PAYOUT;
            ssi on;
            ssi_types *;
        }
        # failing over to another sg_sign location: signed there again
        location = /failover$PAYOUT {
            $sign
            proxy_pass http://127.0.0.1:$dead$PAYOUT;
            error_page 502 = \@backup;
        }
        location \@backup {
            $sign
            proxy_pass http://127.0.0.1:$copy->{port};
        }

        location \@copy { $to_copy }
        location /copy/ { $to_copy }

        location = /metrics { sg_sign_metrics; }
    }
EOF

my $BODY = '{"session_id":"exit-1","amount_details":{"amount":100,"currency":"usd"}}';
my $CANON = '{"amount_details":{"amount":100,"currency":"usd"},"session_id":"exit-1"}';

# what is wrong with what the copy received (empty: nothing)
sub copy_problems {
    my @why;
    my @got = $t->upstream_requests($copy->{record_dir});
    push @why, 'the other location received ' . scalar(@got)
        . ' requests, not 1' if @got != 1;
    for my $r (@got) {
        push @why, "it received $1"
            for $r->head =~ /^(x[-_]partner[-_](?:sign|project|submerchant)):/mgi;
        push @why, 'it received ' . length($r->body) . ' body bytes'
            if length $r->body;
    }
    return @why;
}

# what a caller sends along, hoping it goes on with the request
my @FORGED = (['X-PARTNER-SIGN', 'Zm9yZ2Vk'], ['x-partner-project', 'evil'],
    ['X-Partner-Submerchant', 'evil']);

my $went = 'the request went on to location "(?:\@copy|/copy/)", which is '
    . 'not an sg_sign location: without the body and the gateway\'s headers';
my $sub = 'subrequest to location "/copy/", which is not an sg_sign '
    . 'location: without the body and the gateway\'s headers';
my $ssi = MIME::Base64::encode_base64(
    '{"status":"ok"}<!--# include virtual="/copy/ssi" -->', '');

# [what, location prefix, request headers, status, what the log says]
for my $case (
    ['the provider refused the connection (502), then error_page',
        '/refused', [], 401, $went],
    ['the provider answered 503, intercepted, then error_page',
        '/intercepted', [['X-Mock-Status', '503']], 401, $went],
    ['the provider timed out (504), then error_page', '/timeout', [], 401,
        $went],
    ['try_files after signing', '/try', [], 401, $went],
    ['add_after_body (a subrequest after signing)', '/addition', [], 200,
        $sub],
    ['an SSI include in the provider\'s answer', '/ssi',
        [['X-Mock-Status', '200'], ['X-Mock-Body', $ssi]], 200, $sub])
{
    my ($what, $prefix, $headers, $status, $says) = @$case;
    $t->clear_upstream;
    $t->clear_upstream($copy->{record_dir});
    my $off = length $t->error_log;

    my $r = $t->post($BODY, path => "$prefix$PAYOUT",
        headers => [@$headers, @FORGED]);
    my @why = copy_problems();
    ok !@why, "$what: the other location gets no X-PARTNER-* header (the "
        . 'gateway\'s or the caller\'s) and no body';
    diag "  $_" for @why;
    is $r->status, $status, "... the client gets $status"
        . ($status == 401 ? ' (the copy refuses it as unsigned)' : '');
    like $t->error_log($off), qr/\[warn\].*sg_sign: $says/,
        '... and the error log says where it went';
    unlike $t->error_log($off), qr/exit-1/, '... never the body';
}

{
    # what the provider got, in the intercepted case: the signed payout
    $t->clear_upstream;
    $t->post($BODY, path => "/intercepted$PAYOUT",
        headers => [['X-Mock-Status', '503']]);
    my @got = $t->upstream_requests;
    ok @got == 1 && $got[0]->body eq $CANON
        && $got[0]->head =~ /^X-PARTNER-SIGN: /mi,
        'the provider itself received the signed payout';
}

{
    $t->clear_upstream($copy->{record_dir});
    my $r = $t->post($BODY, path => "/failover$PAYOUT");
    my @got = $t->upstream_requests($copy->{record_dir});
    is $r->status, 200, 'failing over to another sg_sign location: the '
        . 'backup receives a payout that verifies';
    ok @got == 1 && $got[0]->body eq $CANON
        && $got[0]->head =~ /^X-PARTNER-SIGN: /mi,
        '... signed again there, with the canonical body';
}

{
    # each signed payout counted once, by the provider's answer
    my $res = $t->request(method => 'GET', path => '/metrics');
    my %m;
    for (split /\n/, $res->body // '') {
        $m{$1} = $2 if /\Asg_sign_upstream_responses_total\{method="session\/start\/payout",class="(\w+)"\} (\d+)/;
    }
    # refused: unavailable; intercepted (twice): 5xx; timeout; try_files
    # (no proxy_pass reached): unavailable; failover: counted once, at the
    # location that signed last, whose provider (the backup) said 200;
    # add_after_body and SSI: the provider's 200, not the subrequest's 401
    my %want = (unavailable => 2, '5xx' => 2, timeout => 1, '2xx' => 3);
    my @why;
    for my $class (sort keys %want) {
        my $got = $m{$class} // 0;
        push @why, "$class: $got, not $want{$class}" if $got != $want{$class};
    }
    push @why, "4xx: $m{'4xx'} (the copy's 401 counted as the provider's)"
        if $m{'4xx'};
    ok !@why, 'the metrics count the provider\'s answer of each signed '
        . 'payout, not the answer of the location it went on to';
    diag "  $_" for @why;
    diag $res->body if @why;
}

$t->stop;

# ---------------------------------------------------------- post_action

for my $case (['sg_sign', "$sign proxy_pass http://127.0.0.1:$up;"],
    ['sg_sign_verify', "sg_sign_verify on; sg_sign_verify_key $key->{pub}; "
        . "proxy_pass http://127.0.0.1:$up;"])
{
    my ($directive, $loc) = @$case;
    for my $where (['location', "$loc post_action \@copy;", ''],
        ['server', $loc, 'post_action /copy/;'])
    {
        my $r = $t->nginx_test(<<"EOF");
    server {
        listen 127.0.0.1:@{[$t->port]};
        $where->[2]
        location = $PAYOUT {
            $where->[1]
        }
        location \@copy { $to_copy }
    }
EOF
        my $line = $t->conf_line(qr/\Q$directive\E on;/);
        like $r->{output}, qr/"post_action" cannot be used where "\Q$directive\E" is on: a copy of the request would go to another location, in \S+:$line\b/,
            "nginx -t refuses post_action set at $where->[0] level for an "
            . "$directive location, naming the line of $directive on";
        isnt $r->{rc}, 0, '... and fails';
    }
}

{
    my $r = $t->nginx_test(<<"EOF");
    server {
        listen 127.0.0.1:@{[$t->port]};
        location = $PAYOUT { $sign proxy_pass http://127.0.0.1:$up; }
        location /other { post_action \@copy; proxy_pass http://127.0.0.1:$up; }
        location \@copy { $to_copy }
    }
EOF
    is $r->{rc}, 0, 'nginx -t accepts post_action in a location without '
        . 'sg_sign' or diag $r->{output};
}

done_testing;
