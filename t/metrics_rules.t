#!/usr/bin/perl
# The README's alert rules ("## Metrics"), as printed: promtool accepts
# them, and each fires on the series it is about and not before
# (`promtool test rules`): signing failures, a jump in the refusal rate, an
# HSM down, a key older than the rotation period, a provider unreachable.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Temp ();
use Test::More;
use SgSign::Test qw(read_file write_file);

my $PROMTOOL = (grep { -x } map { "$_/promtool" } split /:/, $ENV{PATH})[0];
plan skip_all => 'promtool is not installed (Debian prometheus; make deps)'
    unless $PROMTOOL;

my $readme = read_file("$SgSign::Test::ROOT/README.md")
    // die "cannot read README.md\n";
my ($section) = $readme =~ /^## Metrics\n(.*?)^## /ms
    or die "README.md: no '## Metrics' section\n";
my ($block) = $section =~ /^((?: {4}groups:\n)(?: {4}.*\n|\n)+)/m
    or die "README.md: no rules block (an indented 'groups:') in Metrics\n";
$block =~ s/^ {4}//mg;

my $dir = File::Temp->newdir('sg-rules-XXXXXX', TMPDIR => 1);
write_file("$dir/rules.yml", $block, 0644);
write_file("$dir/test.yml", <<'EOF', 0644);
rule_files:
  - rules.yml
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'sg_sign_requests_total{instance="gw",method="session/start/payout",outcome="signing_failed"}'
        values: '0 0 0 1 1 1 1 1 1 1 1 1 1'
      - series: 'sg_sign_hsm_up{instance="gw",fingerprint="ab"}'
        values: '1 1 1 0 0 0 0 0'
      - series: 'sg_sign_key_loaded_timestamp_seconds{instance="gw",fingerprint="old"}'
        values: '-7776060'
      - series: 'sg_sign_key_loaded_timestamp_seconds{instance="gw",fingerprint="new"}'
        values: '-600'
      - series: 'sg_sign_upstream_responses_total{instance="gw",method="session/start/payout",class="timeout"}'
        values: '0 0 0 0 0 1 1 1'
    alert_rule_test:
      - eval_time: 2m
        alertname: SgSignSigningFailed
        exp_alerts: []
      - eval_time: 4m
        alertname: SgSignSigningFailed
        exp_alerts:
          - exp_labels: {severity: page, instance: gw}
            exp_annotations:
              summary: "gw: payouts could not be signed (500 signing_failed, nothing forwarded)"
      - eval_time: 2m
        alertname: SgSignHsmDown
        exp_alerts: []
      - eval_time: 5m
        alertname: SgSignHsmDown
        exp_alerts:
          - exp_labels: {severity: page, instance: gw, fingerprint: ab}
            exp_annotations:
              summary: "gw: the HSM holding key ab fails"
      - eval_time: 4m
        alertname: SgSignProviderUnreachable
        exp_alerts: []
      - eval_time: 6m
        alertname: SgSignProviderUnreachable
        exp_alerts:
          - exp_labels: {severity: page, instance: gw}
            exp_annotations:
              summary: "gw: signed payouts got no answer from the provider: ask it for their status before retrying"
      - eval_time: 0m
        alertname: SgSignKeyOlderThanRotation
        exp_alerts:
          - exp_labels: {severity: ticket, instance: gw, fingerprint: old}
            exp_annotations:
              summary: "gw: key old has signed for more than 90 days: rotate it"
  - interval: 5m
    input_series:
      - series: 'sg_sign_requests_total{instance="gw",method="session/start/payout",outcome="signed"}'
        values: '0+100x600'
      - series: 'sg_sign_requests_total{instance="gw",method="session/start/payout",outcome="invalid_request"}'
        values: '0+1x300 300+30x300'
    alert_rule_test:
      - eval_time: 24h
        alertname: SgSignRefusalRateJump
        exp_alerts: []
      - eval_time: 26h
        alertname: SgSignRefusalRateJump
        exp_alerts:
          - exp_labels: {severity: ticket, instance: gw}
            exp_annotations:
              summary: "gw: the gateway refuses three times the share of requests it did a day ago"
EOF

sub promtool {
    return SgSign::Test::run_cmd($PROMTOOL, @_);
}

my $r = promtool('check', 'rules', "$dir/rules.yml");
is $r->{rc}, 0, 'promtool check rules accepts the README\'s rules'
    or diag $r->{output};
like $r->{output}, qr/SUCCESS: 5 rules found/, 'the README has five rules';

$r = promtool('test', 'rules', "$dir/test.yml");
is $r->{rc}, 0, 'each rule fires on its series, and not before'
    or diag $r->{output};

done_testing;
