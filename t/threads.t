#!/usr/bin/perl
# sg_sign_thread_pool: signing in an nginx thread pool gives the same,
# verifiable result as signing in the worker, and refusals are unchanged.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use SgSign::Test;

my $t = SgSign::Test->new;
my $key = $t->rsa_key('partner');
$t->start_provider(public_key => $key->{pub});

my $sign = "sg_sign on; sg_sign_project p; sg_sign_key $key->{key};";

$t->start(
    $t->gateway("$sign sg_sign_thread_pool signers;",
        extra => "location = /default/session/start/payout {\n"
            . "    $sign sg_sign_thread_pool default;\n"
            . "    proxy_pass http://provider;\n}\n"),
    main => 'thread_pool signers threads=2;', log_level => 'debug');

for my $case (['/api/v1/session/start/payout', 'a named pool'],
              ['/default/session/start/payout', 'the default pool'])
{
    my ($path, $what) = @$case;

    for my $n (1 .. 3) {
        $t->clear_upstream;
        my $res = $t->request(path => $path,
            body => qq({"session_id":"t-$n","metadata":{"n":$n}}));
        my $up = $t->last_upstream;
        my ($sig) = $up ? $up->header('X-PARTNER-SIGN') : ();

        is $res->status, 200, "signed in $what: request $n answered 200";
        is $up && $up->body, qq({"metadata":{"n":$n},"session_id":"t-$n"}),
            "signed in $what: request $n sends the canonical body";
        ok $sig && $t->verify_signature($up->body, $sig, $key->{pub}),
            "signed in $what: request $n verifies with openssl";
    }
}

like $t->error_log, qr/task #\d+ added to thread pool "signers"/,
    'the signature is computed in the named pool (debug log)';
like $t->error_log, qr/task #\d+ added to thread pool "default"/,
    'the signature is computed in the default pool (debug log)';

{
    $t->clear_upstream;
    my $res = $t->request(body => '{"session_id":""}');
    is $res->status, 400, 'a refused body is still refused with a pool';
    is $t->upstream_count, 0, 'a refused body never reaches upstream';
}

{
    my $r = $t->nginx_test($t->gateway("$sign sg_sign_thread_pool nope;"));
    isnt $r->{rc}, 0, 'nginx -t refuses a thread pool that is not defined';
    like $r->{output}, qr/unknown thread pool "nope"/,
        'nginx -t names the unknown thread pool';
}

done_testing;
