#!/usr/bin/perl
# The provider's API v1 as its docs and its SDK write it, through the real
# nginx: every body of t/lib/api_bank/valid.txt is signed, verifies and
# reaches the provider unchanged but for the normalizations (payout_details
# stays payout_details, currencies in amount_details are lower-cased), at
# its own method's URI; every body of t/lib/api_bank/malformed.txt is
# refused with its code, the member path and the reason, echoes no value,
# and nothing of them is forwarded.  Each body is sent twice: to a location
# of its own method (`location = /api/v1/METHOD` with `sg_sign_schema
# METHOD;`), and to one location for the whole API (`location
# /auto/api/v1/` with `sg_sign_schema auto;` and `proxy_pass
# http://provider/api/v1/$sg_sign_method;`), where the URI picks the
# schema.
#
# Each entry's source (a page of the docs, a file of the SDK) is in the data
# file.  A method of the banks without a built-in schema fails the test.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Encode qw(decode_utf8 encode_utf8);
use JSON::PP;
use Test::More;
use SgSign::Test qw(read_file);

my $BANK = "$FindBin::Bin/lib/api_bank";

# "=== ID METHOD", "source:" and "expect:" lines, then the body's lines up
# to the next entry; lines starting with # are comments
sub bank {
    my ($file) = @_;
    my (@entries, $e);

    my $text = read_file($file) // die "$file: $!\n";

    for my $line (split /\n/, decode_utf8($text, Encode::FB_CROAK)) {
        if ($line =~ /\A=== (\S+) (\S+)\s*\z/) {
            push @entries, $e = { id => $1, method => $2, body => '' };
            next;
        }
        next if !$e || $line =~ /\A#/;
        if ($e->{body} eq '' && $line =~ /\A(source|expect): (.*)\z/) {
            push @{ $e->{$1} }, $2;
            next;
        }
        next if $e->{body} eq '' && $line =~ /\A\s*\z/;
        $e->{body} .= ($e->{body} eq '' ? '' : "\n") . $line;
    }

    for (@entries) {
        $_->{body} =~ s/\s+\z//;
        die "$file: $_->{id} has no source\n" unless $_->{source};
        die "$file: $_->{id} has no body\n" unless length $_->{body};
    }

    return @entries;
}

my @valid = bank("$BANK/valid.txt");
my @malformed = bank("$BANK/malformed.txt");

for (@malformed) {
    die "malformed.txt: $_->{id}: one expect line: CODE PATH REASON\n"
        unless $_->{expect} && @{ $_->{expect} } == 1
        && $_->{expect}[0] =~ /\A(invalid_request|invalid_json) (\S+) (.+)\z/;
    @$_{qw(code path reason)} = ($1, $2, $3);
}

my %ids;
$ids{ $_->{id} }++ and die "the banks repeat the id $_->{id}\n"
    for @valid, @malformed;

# the methods, each in a location of its own
my $SCHEMAS = "$SgSign::Test::ROOT/schemas";
my %methods = map { $_->{method} => 1 } @valid, @malformed;
my @methods = sort keys %methods;

for my $m (@methods) {
    ok -f "$SCHEMAS/$m.json", "$m, a method of the banks, has a built-in "
        . 'schema' or BAIL_OUT("no schemas/$m.json");
}

# and every built-in but object (which is no method) has bodies to sign
for my $m (map { s{\A\Q$SCHEMAS\E/}{}r =~ s{\.json\z}{}r }
           split /\n/, `find $SCHEMAS -name '*.json'`)
{
    next if $m eq 'common' || $m eq 'object';
    ok scalar(grep { $_->{method} eq $m } @valid),
        "the built-in $m has documented bodies in valid.txt";
}

my $t = SgSign::Test->new;
my $key = $t->rsa_key('partner');
$t->start_provider(public_key => $key->{pub});

my $locations = join '', map { <<"EOF" } @methods;
        location = /api/v1/$_ {
            sg_sign on;
            sg_sign_project test_project;
            sg_sign_key $key->{key};
            sg_sign_schema $_;
            proxy_pass http://provider;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
EOF

$t->start(<<"EOF");
    server {
        listen 127.0.0.1:${\ $t->port};
$locations
        location /auto/api/v1/ {
            sg_sign on;
            sg_sign_project test_project;
            sg_sign_key $key->{key};
            sg_sign_schema auto;
            proxy_pass http://provider/api/v1/\$sg_sign_method;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
EOF

# the two ways in: [what, URI prefix]
my @ROUTES = ([ 'its method\'s location', '/api/v1/' ],
              [ 'sg_sign_schema auto', '/auto/api/v1/' ]);

my $json = JSON::PP->new->utf8->canonical;


# ------------------------------------------------- what must be signed

# what the provider must receive: the body's data with every
# amount_details.currency in lower case (the only normalization), written
# in RFC 8785 form (JSON::PP's canonical output is that form for these
# bodies: ASCII member names, integers, no escapes but \" and \\)
sub normalized {
    my ($v) = @_;
    if (ref $v eq 'HASH') {
        my %out = map { $_ => normalized($v->{$_}) } keys %$v;
        my $ad = $out{amount_details};
        $ad->{currency} = lc $ad->{currency}
            if ref $ad eq 'HASH' && defined $ad->{currency}
            && !ref $ad->{currency};
        return \%out;
    }
    return [ map { normalized($_) } @$v ] if ref $v eq 'ARRAY';
    return $v;
}

for my $route (@ROUTES) {
    my ($via, $prefix) = @$route;

    for my $e (@valid) {
        my $what = "$e->{id} ($e->{method}, $e->{source}[0]), via $via,";
        my $body = encode_utf8($e->{body});
        my $want = $json->encode(normalized($json->decode($body)));

        $t->clear_upstream;
        my $res = $t->post($body, path => "$prefix$e->{method}");
        my @up = $t->upstream_requests;

        ok $res->status == 200 && @up == 1, "$what is signed and forwarded"
            or diag 'status ' . ($res->status // 'none') . ', upstream got '
                . @up . ': ' . substr($res->body, 0, 300);
        next unless @up == 1;

        is $up[0]->request_line, "POST /api/v1/$e->{method} HTTP/1.1",
            "$e->{id} via $via: it reaches the provider at its own method";
        is $up[0]->body, $want, "$e->{id} via $via: the provider receives "
            . 'it in canonical form, member names as sent';
        my ($sig) = $up[0]->header('X-PARTNER-SIGN');
        ok $t->verify_signature($up[0]->body, $sig, $key->{pub}),
            "$e->{id} via $via: the signature verifies against the body "
            . 'received';
    }
}


# ------------------------------------------------- what must be refused

$t->clear_upstream;

for my $route (@ROUTES) {
    my ($via, $prefix) = @$route;

    for my $e (@malformed) {
        my $id = "$e->{id} via $via";
        my $what = "$e->{id} ($e->{method}, $e->{source}[0]), via $via,";
        my $res = $t->post(encode_utf8($e->{body}),
            path => "$prefix$e->{method}");
        my $d = $res->description;
        my $code = $res->error_code // 'none';

        is $res->status . " $code", "400 $e->{code}",
            "$what is refused with 400 $e->{code}"
            or diag "description: $d";

        if ($e->{code} eq 'invalid_json') {
            like $d, qr/offset \d+/, "$id: the description gives the offset";
            next;
        }

        if ($e->{path} eq '-') {
            unlike $d, qr/\A(?:[\w.\[\]]|<offset \d+>)+: /a,
                "$id: the description names no member (the whole body)";
        } else {
            is substr($d, 0, length($e->{path}) + 2), "$e->{path}: ",
                "$id: the description names \"$e->{path}\"";
        }
        ok index($d, $e->{reason}) >= 0, "$id: it says \"$e->{reason}\""
            or diag "description: $d";

        # values the caller sent are never echoed (long ones, which cannot
        # be a schema's words)
        my @values = grep { length >= 8 }
            $e->{body} =~ /"((?:[^"\\]|\\.)*)"(?!\s*:)/g;
        my @echoed = grep { index($d, $_) >= 0 } @values;
        ok !@echoed, "$id: the description echoes no value of the body"
            or diag "echoed: @echoed";
    }
}

is $t->upstream_count, 0, 'none of the ' . @malformed . ' refused bodies '
    . 'reached the provider, either way'
    or diag join "\n---\n", map { $_->head . $_->body } $t->upstream_requests;

done_testing;
