#!/usr/bin/perl
# Checks what the upstream received, from its access log (one request per
# line: "PROJECT SIGNATURE BODY", log_format escape=none).
#
#   verify_upstream.pl --log FILE --pub A.pub [--pub B.pub ...]
#       [--project NAME] [--expect FILE.canon ...] [--encoding base64|hex]
#
# For every line: the signature must verify (RSA PKCS#1 v1.5, SHA-256) over
# the exact body bytes with one of the public keys; the project must be
# NAME; with --expect, the body must be byte for byte one of the expected
# canonical bodies (anything else, e.g. an invalid body, is counted as
# unexpected).  Verification is by Crypt::OpenSSL::RSA; the first pair that
# verifies with each key is also checked with the openssl CLI, so the two
# must agree.  Identical (signature, body) lines are verified once: RSA
# PKCS#1 v1.5 is deterministic.
#
# Prints one line:
#   VERIFY lines=N verified=N bad_sig=N unexpected_body=N bad_project=N
#          key_<name>=N ... distinct=N
# and exits 1 if any line fails.

use strict;
use warnings;

use Crypt::OpenSSL::RSA;
use File::Basename qw(basename);
use File::Temp qw(tempdir);
use Getopt::Long;
use MIME::Base64 qw(decode_base64);

my ($log, @pubs, @expect, $project, $encoding) = (undef);
$encoding = 'base64';
GetOptions('log=s' => \$log, 'pub=s' => \@pubs, 'expect=s' => \@expect,
    'project=s' => \$project, 'encoding=s' => \$encoding)
    && $log && @pubs or die "usage: $0 --log FILE --pub KEY.pub ...\n";

sub slurp {
    my ($f) = @_;
    open my $fh, '<:raw', $f or die "$f: $!\n";
    local $/;
    return scalar <$fh>;
}

my @keys;
for my $p (@pubs) {
    my $rsa = Crypt::OpenSSL::RSA->new_public_key(slurp($p));
    $rsa->use_sha256_hash;
    (my $name = basename($p)) =~ s/\.pub$//;
    push @keys, { name => $name, rsa => $rsa, path => $p, cli => 0, n => 0 };
}

my %expect = map { slurp($_) => 1 } @expect;
my $tmp = tempdir('sg-verify-XXXXXX', TMPDIR => 1, CLEANUP => 1);

my %cache;      # "sig body" -> index of the key that verified, or -1
my %st = map { $_ => 0 } qw(lines verified bad_sig unexpected_body
    bad_project);
my @bad;

sub cli_verify {
    my ($key, $sig, $body) = @_;
    my ($sf, $bf) = ("$tmp/sig", "$tmp/body");
    for ([$sf, $sig], [$bf, $body]) {
        open my $fh, '>:raw', $_->[0] or die "$_->[0]: $!\n";
        print {$fh} $_->[1];
        close $fh;
    }
    my $out = `openssl dgst -sha256 -verify '$key->{path}' -signature '$sf' '$bf' 2>&1`;
    return $? == 0 && $out =~ /Verified OK/;
}

open my $fh, '<:raw', $log or die "$log: $!\n";
while (my $line = <$fh>) {
    chomp $line;
    $st{lines}++;
    my ($proj, $sig_text, $body) = split / /, $line, 3;
    $body //= '';
    if (defined $project && (!defined $proj || $proj ne $project)) {
        $st{bad_project}++;
    }
    if (@expect && !$expect{$body}) {
        $st{unexpected_body}++;
        push @bad, "unexpected body (line $st{lines}): "
            . substr($body, 0, 120) if @bad < 5;
    }
    my $ck = ($sig_text // '') . ' ' . $body;
    my $k = $cache{$ck};
    if (!defined $k) {
        $k = -1;
        my $sig;
        if ($encoding eq 'hex') {
            $sig = pack 'H*', $sig_text if ($sig_text // '') =~ /\A(?:[0-9a-f]{2})+\z/;
        } elsif (($sig_text // '') =~ m{\A[A-Za-z0-9+/]+={0,2}\z}) {
            $sig = decode_base64($sig_text);
        }
        if (defined $sig) {
            for my $i (0 .. $#keys) {
                if (eval { $keys[$i]{rsa}->verify($body, $sig) }) {
                    $k = $i;
                    if (!$keys[$i]{cli}++) {
                        cli_verify($keys[$i], $sig, $body)
                            or die "Crypt::OpenSSL::RSA and openssl disagree"
                                . " on line $st{lines}\n";
                    }
                    last;
                }
            }
        }
        $cache{$ck} = $k;
    }
    if ($k < 0) {
        $st{bad_sig}++;
        push @bad, "signature does not verify (line $st{lines})" if @bad < 5;
    } else {
        $st{verified}++;
        $keys[$k]{n}++;
    }
}
close $fh;

printf "VERIFY lines=%d verified=%d bad_sig=%d unexpected_body=%d "
    . "bad_project=%d %s distinct=%d\n", @st{qw(lines verified bad_sig
    unexpected_body bad_project)},
    join(' ', map { "key_$_->{name}=$_->{n}" } @keys), scalar keys %cache;
print STDERR "  $_\n" for @bad;

exit(($st{bad_sig} || $st{unexpected_body} || $st{bad_project}) ? 1 : 0);
