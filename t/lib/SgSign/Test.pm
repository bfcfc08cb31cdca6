package SgSign::Test;

# The integration-test harness: a real nginx with the module loaded, in a
# private temp dir, in front of t/lib/mock_provider.pl in record mode.
# Core Perl only (no Test::Nginx); keys come from the openssl CLI at test time.
#
#   my $t = SgSign::Test->new;
#   my $key = $t->rsa_key('partner');
#   $t->start_provider(public_key => $key->{pub});
#   $t->start($t->gateway("sg_sign on; sg_sign_project p; sg_sign_key $key->{key};"));
#   my $res = $t->post('{"session_id":"s1"}');
#   my ($up) = $t->upstream_requests;
#
# Environment (all optional; unset = the plain run `make test` does):
#   SG_SIGN_MODULE=path        the module to load (default build/...so)
#   NGINX=path                 the nginx binary (default /usr/sbin/nginx)
#   SG_SIGN_NGINX_PREFIX=cmd   words put before the nginx command line, e.g.
#                              "env LD_PRELOAD=... ASAN_OPTIONS=..." or
#                              "valgrind --leak-check=full ..." (t/sanitize.sh,
#                              t/valgrind.sh); also used for `nginx -t`
#   SG_SIGN_VALGRIND=1         nginx runs as one foreground process
#                              (master_process off; daemon off), started in
#                              the background by the harness and stopped with
#                              SIGTERM so a wrapper (valgrind) sees it exit
#   SG_SIGN_SANITIZER=1        set by t/sanitize.sh: tests that measure what a
#                              sanitizer distorts (RSS) skip themselves
#   SG_SIGN_SLOW=N             multiply the harness's waits by N (default 1,
#                              10 with SG_SIGN_VALGRIND)
#   SG_SIGN_KEEP=1             keep the temp dirs

use strict;
use warnings;

use Cwd qw(abs_path);
use Digest::SHA qw(sha256_hex);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use MIME::Base64 qw(decode_base64);
use POSIX ();
use Test::More ();
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(read_file write_file json_decode error_ok
    key_material_lines);

our $ROOT   = abs_path(dirname(__FILE__) . '/../../..');
our $MODULE = $ENV{SG_SIGN_MODULE} // "$ROOT/build/ngx_http_sg_sign_module.so";
our $NGINX  = $ENV{NGINX} // '/usr/sbin/nginx';
# nginx itself reads $NGINX as sockets inherited from an old binary (and then
# does not daemonize): never pass it on
delete $ENV{NGINX};
our $MOCK   = "$ROOT/t/lib/mock_provider.pl";
our @PREFIX = grep { length } split ' ', ($ENV{SG_SIGN_NGINX_PREFIX} // '');
our $FOREGROUND = $ENV{SG_SIGN_VALGRIND} ? 1 : 0;
our $SANITIZER = $ENV{SG_SIGN_SANITIZER} ? 1 : 0;
our $SLOW   = $ENV{SG_SIGN_SLOW} || ($FOREGROUND ? 10 : 1);

# true when nginx runs wrapped (sanitizer, valgrind): timing and memory
# figures mean nothing there
sub instrumented { return @PREFIX || $FOREGROUND || $SANITIZER }

our $PAYOUT_PATH = '/api/v1/session/start/payout';

my @INSTANCES;

END {
    local $?;
    $_->stop_all for @INSTANCES;
    _diag_error_logs() if Test::More->can("builder")
        && !Test::More->builder->is_passing;
}

# A failed run (in CI, where the temp dirs are gone after it) shows what
# nginx logged at warn and above: the gateway never logs caller values or
# key material, so the lines are safe to print.
sub _diag_error_logs {
    for my $self (@INSTANCES) {
        my @lines = grep { /\[(?:warn|error|crit|alert|emerg)\]/ }
            split /\n/, $self->error_log // '';
        next unless @lines;
        splice @lines, 0, @lines - 40 if @lines > 40;
        Test::More::diag("the error log's last warn+ lines "
            . "($self->{dir}):\n" . join "\n", @lines);
    }
}


sub new {
    my ($class, %o) = @_;

    die "module not built: $MODULE (run `make module`)\n" unless -f $MODULE;

    my $tmp = File::Temp->newdir('sg-sign-t-XXXXXX', TMPDIR => 1,
        CLEANUP => !$ENV{SG_SIGN_KEEP});
    my $dir = "$tmp";
    # nginx's workers run as nobody when the tests run as root: let them
    # reach their temp dirs (keys stay 0600, readable by the master only)
    chmod 0755, $dir;
    mkdir "$dir/$_" for qw(record keys logs work);

    my $self = bless {
        tmp        => $tmp,
        dir        => $dir,
        port       => free_port(),
        up_port    => free_port(),
        log_level  => $o{log_level} // 'info',
        seq        => 0,
    }, $class;
    push @INSTANCES, $self;
    return $self;
}

sub dir     { $_[0]{dir} }
sub port    { $_[0]{port} }
sub up_port { $_[0]{up_port} }
sub conf_path { "$_[0]{dir}/nginx.conf" }
sub error_log_path { "$_[0]{dir}/logs/error.log" }
sub access_log_path { "$_[0]{dir}/logs/access.log" }


# A port below the kernel's ephemeral range: one from that range (port 0)
# can be taken, between here and nginx's bind(), as the local port of any
# outgoing connection the tests make (seen: "bind() ... Address already in
# use" after a load test).  Never the same one twice in a test file.
my %PORTS_GIVEN;

sub free_port {
    my ($lo) = (read_file('/proc/sys/net/ipv4/ip_local_port_range') // '')
        =~ /^(\d+)/;
    $lo = 32768 if !$lo || $lo < 12000;
    for (1 .. 500) {
        my $port = 10000 + int rand($lo - 10000);
        next if $PORTS_GIVEN{$port};
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
            LocalPort => $port, Listen => 1, Proto => 'tcp', ReuseAddr => 1)
            or next;
        close $s;
        $PORTS_GIVEN{$port} = 1;
        return $port;
    }
    die "cannot find a free port below $lo\n";
}


# ---------------------------------------------------------------- files

sub read_file {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return undef;
    local $/;
    my $data = <$fh>;
    return $data // '';
}

sub write_file {
    my ($path, $data, $mode) = @_;
    my $tmp = "$path.tmp$$";
    open my $fh, '>:raw', $tmp or die "$tmp: $!\n";
    chmod $mode // 0600, $tmp;
    print {$fh} $data;
    close $fh or die "$tmp: $!\n";
    rename $tmp, $path or die "rename $tmp: $!\n";
    return $path;
}

sub json_decode {
    my ($text) = @_;
    return eval { JSON::PP->new->allow_nonref->decode($text) };
}

sub tmpfile {
    my ($self, $name) = @_;
    return "$self->{dir}/work/" . (++$self->{seq}) . ".$name";
}


# ---------------------------------------------------------------- keys

sub openssl {
    my (@args) = @_;
    my $out = run_cmd('openssl', @args);
    die "openssl @args failed: $out->{output}\n" if $out->{rc} != 0;
    return $out->{output};
}

sub run_cmd {
    my (@cmd) = @_;
    my $pid = open my $fh, '-|';
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    binmode $fh;
    local $/;
    my $output = <$fh> // '';
    close $fh;
    return { rc => $? >> 8, output => $output };
}

# An RSA private key. bits (2048), format pkcs8 | pkcs1, passphrase (makes an
# encrypted PKCS#8 key and a passphrase file "<pass>\n").  Returns
# { key, pub, pem, fingerprint, pass_file, passphrase }.
sub rsa_key {
    my ($self, $name, %o) = @_;
    my $bits = $o{bits} // 2048;
    my $dir = "$self->{dir}/keys";
    my $plain = "$dir/$name.plain.pem";
    my $key = "$dir/$name.key";

    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt',
        "rsa_keygen_bits:$bits", '-out', $plain);
    chmod 0600, $plain;

    my %k = (name => $name, bits => $bits);
    if (defined $o{passphrase}) {
        my $pf = write_file("$dir/$name.pass", "$o{passphrase}\n", 0600);
        openssl('pkcs8', '-topk8', '-in', $plain, '-v2', 'aes-256-cbc',
            '-passout', "file:$pf", '-out', $key);
        @k{qw(pass_file passphrase)} = ($pf, $o{passphrase});
    } elsif (($o{format} // 'pkcs8') eq 'pkcs1') {
        openssl('rsa', '-in', $plain, '-traditional', '-out', $key);
    } else {
        openssl('pkey', '-in', $plain, '-out', $key);
    }
    chmod 0600, $key;
    return $self->_describe_key(\%k, $key, $plain);
}

sub ec_key {
    my ($self, $name) = @_;
    my $key = "$self->{dir}/keys/$name.key";
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt',
        'ec_paramgen_curve:P-256', '-out', $key);
    chmod 0600, $key;
    return $self->_describe_key({ name => $name }, $key, $key);
}

sub _describe_key {
    my ($self, $k, $key, $plain) = @_;
    my $pub = "$self->{dir}/keys/$k->{name}.pub";
    openssl('pkey', '-in', $plain, '-pubout', '-out', $pub);
    my $der = openssl('pkey', '-in', $plain, '-pubout', '-outform', 'DER');
    $k->{key} = $key;
    $k->{pub} = $pub;
    $k->{pem} = read_file($key);
    $k->{plain_pem} = read_file($plain);
    $k->{fingerprint} = sha256_hex($der);
    return $k;
}

# Lines of a PEM file that carry key material (not the BEGIN/END lines).
sub key_material_lines {
    my ($pem) = @_;
    return grep { length >= 16 && !/^-----/ && !/:/ } split /\r?\n/, $pem;
}


# ---------------------------------------------------------------- signatures

# Verifies with the openssl CLI (not our code): sig_text is base64 or hex.
sub verify_signature {
    my ($self, $body, $sig_text, $pub, $encoding) = @_;
    return 0 unless defined $sig_text && defined $body;
    my $sig;
    if (($encoding // 'base64') eq 'hex') {
        return 0 unless $sig_text =~ /\A(?:[0-9a-f]{2})+\z/;
        $sig = pack 'H*', $sig_text;
    } else {
        return 0 unless $sig_text =~ m{\A[A-Za-z0-9+/]+={0,2}\z};
        $sig = decode_base64($sig_text);
    }
    my $sf = write_file($self->tmpfile('sig'), $sig);
    my $bf = write_file($self->tmpfile('body'), $body);
    my $r = run_cmd('openssl', 'dgst', '-sha256', '-verify', $pub,
        '-signature', $sf, $bf);
    return $r->{rc} == 0 && $r->{output} =~ /Verified OK/;
}


# ---------------------------------------------------------------- provider

sub start_provider {
    my ($self, %o) = @_;
    my $pid = $self->_spawn_mock('provider', "127.0.0.1:$self->{up_port}",
        "$self->{dir}/record", %o);
    $self->{provider_pid} = $pid;
    return $pid;
}

# One more mock provider, on its own port with its own record dir:
#   my $m = $t->start_mock('first', mode => 'drop');   # answer | hang | drop
#   ... upstream { server 127.0.0.1:$m->{port}; } ...
#   my @got = $t->upstream_requests($m->{record_dir});
# Options as for start_provider (public_key, encoding) plus mode.
# Stopped with the instance.
sub start_mock {
    my ($self, $name, %o) = @_;
    die "mock name: [a-z0-9_-]+\n" unless $name =~ /\A[a-z0-9_-]+\z/;
    my $port = $o{port} // free_port();
    my $rec = "$self->{dir}/record-$name";
    mkdir $rec;
    my $pid = $self->_spawn_mock("mock-$name", "127.0.0.1:$port", $rec, %o);
    my $m = { name => $name, port => $port, record_dir => $rec, pid => $pid };
    $self->{mocks}{$name} = $m;
    return $m;
}

sub _spawn_mock {
    my ($self, $name, $listen, $rec, %o) = @_;
    my $pidf = "$self->{dir}/$name.pid";
    unlink $pidf;
    my @cmd = ($^X, $MOCK, '--listen', $listen,
        '--record-dir', $rec, '--pid-file', $pidf);
    push @cmd, '--public-key', $o{public_key} if $o{public_key};
    push @cmd, '--encoding', $o{encoding} if $o{encoding};
    push @cmd, '--mode', $o{mode} if $o{mode};

    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        POSIX::setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$self->{dir}/logs/$name.log";
        open STDERR, '>&', \*STDOUT;
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    wait_for(sub { -s $pidf }, 10) or die "mock $name did not start\n";
    return $pid;
}

sub _kill_group {
    my ($pid) = @_;
    kill 'TERM', -$pid;
    kill 'TERM', $pid;
    waitpid $pid, 0;
}

sub stop_provider {
    my ($self) = @_;
    my $pid = delete $self->{provider_pid} or return;
    _kill_group($pid);
}

sub stop_mocks {
    my ($self) = @_;
    my $mocks = delete $self->{mocks} or return;
    _kill_group($_->{pid}) for values %$mocks;
}

sub provider_log { read_file("$_[0]{dir}/logs/provider.log") // '' }


# What arrived upstream, in order: { head, body, request_line, headers =>
# [[name, value], ...], header(name) => list of values (any case) }.
# $dir: another mock's record_dir (default: the provider's).
sub upstream_requests {
    my ($self, $dir) = @_;
    $dir //= "$self->{dir}/record";
    opendir my $dh, $dir or return ();
    my @n = sort { $a <=> $b } map { /\A(\d+)\.head\z/ ? $1 : () } readdir $dh;
    my @reqs;
    for my $n (@n) {
        my $head = read_file("$dir/$n.head");
        my $body = read_file("$dir/$n.body") // '';
        my ($line, @lines) = split /\r\n/, $head;
        my @headers = map { /\A([^:]+):[ \t]*(.*?)[ \t]*\z/ ? [$1, $2] : () }
            @lines;
        push @reqs, SgSign::Test::Upstream->new(
            n => $n, head => $head, body => $body, request_line => $line,
            headers => \@headers);
    }
    return @reqs;
}

sub upstream_count { my ($self, $dir) = @_; return scalar(my @r = $self->upstream_requests($dir)) }

sub last_upstream {
    my ($self) = @_;
    my @r = $self->upstream_requests;
    return $r[-1];
}

sub clear_upstream {
    my ($self, $dir) = @_;
    $dir //= "$self->{dir}/record";
    opendir my $dh, $dir or return;
    unlink map { "$dir/$_" } grep { !/\A\.\.?\z/ } readdir $dh;
}


# ---------------------------------------------------------------- nginx

# The gateway's standard server: one payout location with the given
# directives, proxying to the mock provider.  extra => more server-level text.
sub gateway {
    my ($self, $directives, %o) = @_;
    my $path = $o{path} // $PAYOUT_PATH;
    my $extra = $o{extra} // '';
    return <<"EOF";
    server {
        listen 127.0.0.1:$self->{port};
$extra
        location = $path {
            $directives
            proxy_pass http://provider;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
EOF
}

# nginx.conf with the module loaded; $http goes inside the http block.
# Options: log_level, main (main-context text), worker_connections,
# worker_processes (1), module (the .so to load, default $MODULE).
sub write_conf {
    my ($self, $http, %o) = @_;
    my $d = $self->{dir};
    my $level = $o{log_level} // $self->{log_level};
    my $main = $o{main} // '';
    my $wc = $o{worker_connections} // 128;
    my $wp = $o{worker_processes} // 1;
    $self->{workers} = $wp;
    my $onoff = $FOREGROUND ? 'off' : 'on';
    my $so = $o{module} // $MODULE;
    my $conf = <<"EOF";
load_module $so;

worker_processes $wp;
daemon $onoff;
master_process $onoff;
pid $d/nginx.pid;
error_log $d/logs/error.log $level;
$main
events {
    worker_connections $wc;
}

http {
    access_log $d/logs/access.log;
    client_body_temp_path $d/client_body_temp;
    proxy_temp_path $d/proxy_temp;
    fastcgi_temp_path $d/fastcgi_temp;
    uwsgi_temp_path $d/uwsgi_temp;
    scgi_temp_path $d/scgi_temp;

    upstream provider {
        server 127.0.0.1:$self->{up_port};
        keepalive 8;
    }

$http
}
EOF
    write_file($self->conf_path, $conf, 0644);
    $self->{conf} = $conf;
    return $self->conf_path;
}

# 1-based line number of the first line of nginx.conf matching $re.
sub conf_line {
    my ($self, $re) = @_;
    my @lines = split /\n/, $self->{conf};
    for my $i (0 .. $#lines) {
        return $i + 1 if $lines[$i] =~ $re;
    }
    return undef;
}

sub _nginx_args {
    my ($self) = @_;
    return (@PREFIX, $NGINX, '-p', "$self->{dir}/", '-c', $self->conf_path,
        '-e', $self->error_log_path);
}

# `nginx -t`: { rc, output } (stderr and stdout together).
sub nginx_test {
    my ($self, $http, %o) = @_;
    $self->write_conf($http, %o) if defined $http;
    return run_cmd($self->_nginx_args, '-t');
}

sub start {
    my ($self, $http, %o) = @_;
    $self->write_conf($http, %o) if defined $http;
    unlink "$self->{dir}/nginx.pid";
    if ($FOREGROUND) {
        $self->_start_foreground;
    } else {
        my $r = run_cmd($self->_nginx_args);
        die "nginx did not start (rc $r->{rc}):\n$r->{output}\n"
            . ($self->error_log // '') if $r->{rc} != 0;
    }
    wait_for(sub { -s "$self->{dir}/nginx.pid" }, 10 * $SLOW)
        or die "nginx wrote no pid file\n" . $self->_fg_output;
    $self->{nginx_pid} = $self->master_pid;
    wait_for(sub {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1',
            PeerPort => $self->{port}, Proto => 'tcp', Timeout => 1)
    }, 10 * $SLOW) or die "nginx is not listening on $self->{port}\n";
    # the master's socket accepts before a worker is forked: tests that
    # look at the workers wait for them (one that dies at start is not
    # waited for long)
    wait_for(sub { my @w = $self->worker_pids; @w >= ($self->{workers} // 1) },
        5 * $SLOW) unless $FOREGROUND;
    return $self;
}

# SG_SIGN_VALGRIND: one process in the foreground (daemon off, master_process
# off), our child, its stdout/stderr in logs/nginx.out
sub _start_foreground {
    my ($self) = @_;
    my @cmd = $self->_nginx_args;
    my $out = "$self->{dir}/logs/nginx.out";
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $out;
        open STDERR, '>&', \*STDOUT;
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    $self->{fg_pid} = $pid;
    # a broken configuration: the process exits at once
    my $dead = wait_for(sub {
        return 'dead' if waitpid($pid, POSIX::WNOHANG()) == $pid;
        return -s "$self->{dir}/nginx.pid" ? 'up' : undef;
    }, 10 * $SLOW) // 'slow';
    if ($dead eq 'dead') {
        delete $self->{fg_pid};
        die "nginx did not start (status $?):\n" . $self->_fg_output
            . ($self->error_log // '');
    }
}

sub _fg_output {
    my ($self) = @_;
    return read_file("$self->{dir}/logs/nginx.out") // '';
}

sub master_pid {
    my ($self) = @_;
    my $p = read_file("$self->{dir}/nginx.pid") // '';
    return $p =~ /(\d+)/ ? $1 : undef;
}

# HUP to the master; returns the error-log offset before the reload so the
# caller can read what the reload logged.
sub reload {
    my ($self) = @_;
    my $off = length($self->error_log // '');
    kill 'HUP', $self->{nginx_pid} or die "cannot signal nginx: $!\n";
    return $off;
}

sub stop {
    my ($self) = @_;
    if (my $fg = delete $self->{fg_pid}) {
        # our child: TERM makes nginx exit through its own exit path (the
        # wrapper, e.g. valgrind, then writes its summary); reap it
        delete $self->{nginx_pid};
        kill 'TERM', $fg;
        my $gone = wait_for(sub { waitpid($fg, POSIX::WNOHANG()) == $fg },
            12 * $SLOW);
        if (!$gone) {
            kill 'KILL', $fg;
            waitpid $fg, 0;
        }
        $self->{fg_status} = $?;
        return;
    }
    my $pid = delete $self->{nginx_pid} or return;
    kill 'TERM', $pid;
    wait_for(sub { !kill 0, $pid }, 5 * $SLOW) or kill 'KILL', $pid;
}

sub stop_all {
    my ($self) = @_;
    $self->stop;
    $self->stop_provider;
    $self->stop_mocks;
}

# The processes that serve requests: the master's children, or the one
# process itself when master_process is off.
sub worker_pids {
    my ($self) = @_;
    my $master = $self->master_pid or return ();
    return ($master) if $FOREGROUND;
    my @w;
    for my $stat (glob '/proc/[0-9]*/stat') {
        my $s = read_file($stat) // next;
        push @w, $1 if $s =~ /\A(\d+) \(.*\) \S (\d+)/s && $2 == $master;
    }
    return sort { $a <=> $b } @w;
}

# VmRSS of a process in kB (undef when it is gone)
sub rss_kb {
    my ($pid) = @_;
    my $s = read_file("/proc/$pid/status") // return undef;
    return $s =~ /^VmRSS:\s+(\d+)\s+kB/m ? $1 : undef;
}

sub error_log {
    my ($self, $from) = @_;
    my $log = read_file($self->error_log_path) // '';
    return defined $from ? substr($log, $from) : $log;
}

sub access_log { read_file($_[0]->access_log_path) // '' }

# waits (polling) until $cond returns true; returns its value or undef
sub wait_for {
    my ($cond, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    while (1) {
        my $v = $cond->();
        return $v if $v;
        return undef if time > $deadline;
        sleep 0.02;
    }
}


# ---------------------------------------------------------------- checks

# One test: $res is the gateway's error answer, exactly
# {"status":"error","error":{"code":$code,"description":...}} with
# Content-Type application/json, HTTP $status, description matching $re.
sub error_ok {
    my ($res, $status, $code, $re, $name) = @_;
    my @why;
    my $got = $res->status // 'no answer';
    push @why, "status: expected $status, got $got" if $got ne $status;
    my ($ct) = $res->header('Content-Type');
    push @why, "Content-Type: expected application/json, got "
        . ($ct // 'none')
        unless defined $ct && $ct =~ m{\Aapplication/json\s*(?:;.*)?\z}i;
    my $j = $res->json;
    if (ref $j ne 'HASH') {
        push @why, "body is not a JSON object: " . substr($res->body, 0, 200);
    } else {
        my @top = sort keys %$j;
        push @why, "members: expected error,status, got @top"
            unless "@top" eq 'error status';
        push @why, "status member: expected \"error\""
            unless defined $j->{status} && !ref $j->{status}
            && $j->{status} eq 'error';
        my $e = $j->{error};
        if (ref $e ne 'HASH') {
            push @why, "error member is not an object";
        } else {
            my @in = sort keys %$e;
            push @why, "error members: expected code,description, got @in"
                unless "@in" eq 'code description';
            my $c = $e->{code} // 'none';
            push @why, "code: expected $code, got $c" if $c ne $code;
            my $d = $e->{description};
            push @why, "description: not a non-empty string"
                unless defined $d && !ref $d && length $d;
            push @why, "description: expected to match $re, got '"
                . ($d // '') . "'"
                if defined $re && defined $d && !ref $d && $d !~ $re;
        }
    }
    my $tb = Test::More->builder;
    $tb->ok(!@why, $name);
    $tb->diag("  $_") for @why;
    return !@why;
}


# ---------------------------------------------------------------- clients

# Sends one request over a raw socket and parses the answer.
#   method (POST), path (the payout path), body, headers => [[n, v], ...],
#   content_type (default application/json for a body; undef: none),
#   chunked => 1 or [chunk, ...], content_length => value to send instead
#   of the real one (or undef to send none), raw => exact bytes, timeout.
# Returns a SgSign::Test::Response (status undef on timeout / no answer).
sub request {
    my ($self, %o) = @_;
    my $req = $o{raw};
    if (!defined $req) {
        my $method = $o{method} // 'POST';
        my $path = $o{path} // $PAYOUT_PATH;
        my $body = $o{body};
        $req = "$method $path HTTP/1.1\r\nHost: localhost\r\n"
            . "Connection: close\r\n";
        my $ct = exists $o{content_type} ? $o{content_type}
            : defined $body || $o{chunked} ? 'application/json' : undef;
        $req .= "Content-Type: $ct\r\n" if defined $ct;
        $req .= "$_->[0]: $_->[1]\r\n" for @{ $o{headers} // [] };
        if ($o{chunked}) {
            my @chunks = ref $o{chunked} ? @{ $o{chunked} } : ($body);
            $req .= "Transfer-Encoding: chunked\r\n\r\n";
            $req .= sprintf("%x\r\n%s\r\n", length $_, $_)
                for grep { length } @chunks;
            $req .= "0\r\n\r\n";
        } else {
            my $cl = exists $o{content_length} ? $o{content_length}
                : defined $body ? length $body : undef;
            $req .= "Content-Length: $cl\r\n" if defined $cl;
            $req .= "\r\n" . ($body // '');
        }
    }
    return $self->send_raw($req, $o{timeout});
}

sub post {
    my ($self, $body, %o) = @_;
    return $self->request(%o, body => $body);
}

sub send_raw {
    my ($self, $req, $timeout) = @_;
    $timeout //= 10 * ($SLOW > 1 ? 6 : 1);
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $self->{port}, Proto => 'tcp', Timeout => $timeout)
        or die "connect 127.0.0.1:$self->{port}: $@\n";
    binmode $s;
    my $sel = IO::Select->new($s);
    my $off = 0;
    local $SIG{PIPE} = 'IGNORE';
    while ($off < length $req) {
        my $n = syswrite $s, $req, length($req) - $off, $off;
        last unless $n;     # nginx may answer and close before reading all
        $off += $n;
    }
    my $buf = '';
    my $deadline = time + $timeout;
    my $res;
    while (1) {
        my $left = $deadline - time;
        last if $left <= 0 || !$sel->can_read($left);
        my $n = sysread $s, $buf, 65536, length $buf;
        last unless $n;
        $res = SgSign::Test::Response->parse($buf);
        last if $res && $res->{complete};
    }
    close $s;
    $res = SgSign::Test::Response->parse($buf) if !$res || !$res->{complete};
    return $res || SgSign::Test::Response->new(raw => $buf);
}


# ================================================================ response

package SgSign::Test::Response;

sub new {
    my ($class, %o) = @_;
    return bless { status => undef, headers => [], body => '', %o }, $class;
}

sub parse {
    my ($class, $buf) = @_;
    my $end = index $buf, "\r\n\r\n";
    return undef if $end < 0;
    my ($line, @lines) = split /\r\n/, substr($buf, 0, $end);
    my ($status) = $line =~ m{\AHTTP/1\.[01] (\d{3})} or return undef;
    my @headers = map { /\A([^:]+):[ \t]*(.*?)[ \t]*\z/ ? [$1, $2] : () }
        @lines;
    my $self = $class->new(status => $status, headers => \@headers,
        raw => $buf);
    my $rest = substr $buf, $end + 4;
    my ($cl) = $self->header('Content-Length');
    my ($te) = $self->header('Transfer-Encoding');
    if (defined $te && $te =~ /chunked/i) {
        my $body = '';
        while ($rest =~ s/\A([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $size = hex $1;
            if ($size == 0) {
                $self->{complete} = 1;
                last;
            }
            last if length $rest < $size + 2;
            $body .= substr $rest, 0, $size;
            substr $rest, 0, $size + 2, '';
        }
        $self->{body} = $body;
    } elsif (defined $cl) {
        $self->{body} = substr $rest, 0, $cl;
        $self->{complete} = length $rest >= $cl;
    } else {
        $self->{body} = $rest;
    }
    return $self;
}

sub status { $_[0]{status} }
sub body   { $_[0]{body} }

sub header {
    my ($self, $name) = @_;
    return map { $_->[1] } grep { lc $_->[0] eq lc $name } @{ $self->{headers} };
}

sub json { SgSign::Test::json_decode($_[0]{body}) }

# the gateway's / provider's error code, or undef
sub error_code {
    my $j = $_[0]->json;
    return ref $j eq 'HASH' && ref $j->{error} eq 'HASH'
        ? $j->{error}{code} : undef;
}

sub description {
    my $j = $_[0]->json;
    return ref $j eq 'HASH' && ref $j->{error} eq 'HASH'
        ? $j->{error}{description} // '' : '';
}


# ================================================================ upstream

package SgSign::Test::Upstream;

sub new { my ($class, %o) = @_; return bless {%o}, $class }

sub head { $_[0]{head} }
sub body { $_[0]{body} }
sub request_line { $_[0]{request_line} }

sub header {
    my ($self, $name) = @_;
    return map { $_->[1] } grep { lc $_->[0] eq lc $name } @{ $self->{headers} };
}

1;
