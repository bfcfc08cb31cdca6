package SgSign::HSM;

# A SoftHSM2 token made at test time in the instance's temp dir, for
# PKCS#11 keys (t/pkcs11.t), and the shim module (t/lib/p11shim.c) that
# adds what SoftHSM2 cannot do.
#
#   my $hsm = SgSign::HSM->new($t);              # token "payouts", PIN file
#                                                # (pin => '...': another PIN)
#   my $k = $hsm->generate('partner-2026', '01');  # RSA-2048 on the token
#   $t->start($t->gateway("... sg_sign_key $k->{uri};
#       sg_sign_key_passphrase_file $hsm->{pin_file};"), main => $hsm->main);
#
# SOFTHSM2_CONF is set in %ENV (nginx -t and the master read it) and passed
# to the workers with "env" ($hsm->main).  library.reset_on_fork makes a
# session carried over fork() fail, so a fork bug cannot hide.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);

use SgSign::Test qw(read_file write_file);

our $SOFTHSM = '/usr/lib/softhsm/libsofthsm2.so';
our $SPY     = '/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so';
our $PIN     = '246810';
our $SO_PIN  = '13579111';


sub new {
    my ($class, $t, %o) = @_;
    my $dir = $t->dir . '/hsm';
    mkdir $dir;
    mkdir "$dir/tokens";
    my $conf = write_file("$dir/softhsm2.conf",
        "directories.tokendir = $dir/tokens\n"
        . "objectstore.backend = file\n"
        . "log.level = ERROR\n"
        . "slots.removable = false\n"
        . "library.reset_on_fork = true\n", 0644);
    $ENV{SOFTHSM2_CONF} = $conf;

    my $self = bless {
        t => $t, dir => $dir, conf => $conf,
        token => $o{token} // 'payouts', pin => $o{pin} // $PIN,
    }, $class;

    $self->run('softhsm2-util', '--init-token', '--free', '--label',
        $self->{token}, '--pin', $self->{pin}, '--so-pin', $SO_PIN);
    $self->{pin_file} = write_file($t->dir . '/keys/hsm.pin', "$self->{pin}\n",
        0600);
    $self->share;
    return $self;
}

sub run {
    my ($self, @cmd) = @_;
    my $r = SgSign::Test::run_cmd(@cmd);
    die "@cmd failed: $r->{output}\n" if $r->{rc} != 0;
    return $r->{output};
}

# pkcs11-tool on the token, logged in
sub tool {
    my ($self, @args) = @_;
    my $out = $self->run('pkcs11-tool', '--module', $SOFTHSM,
        '--token-label', $self->{token}, '--login', '--pin', $self->{pin}, @args);
    $self->share;
    return $out;
}

# The workers run as nobody when the tests run as root: the token's files
# are theirs, as they would be the nginx user's.
sub share {
    my ($self) = @_;
    return if $> != 0;
    my ($uid, $gid) = (getpwnam 'nobody')[2, 3];
    $self->run('chown', '-R', "$uid:$gid", "$self->{dir}/tokens");
}

# A key pair made on the token: { label, id, uri, pub (PEM file),
# fingerprint (SHA-256 of the token's public key DER) }.
sub generate {
    my ($self, $label, $id, $type) = @_;
    $self->tool('--keypairgen', '--key-type', $type // 'rsa:2048',
        '--label', $label, '--id', $id);
    return $self->describe($label, $id);
}

# An RSA key made outside (openssl) and written to the token, private and
# public object: the operator's "import".
sub import_rsa {
    my ($self, $label, $id) = @_;
    my $d = $self->{t}->dir . '/keys';
    SgSign::Test::openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt',
        'rsa_keygen_bits:2048', '-out', "$d/$label.pem");
    chmod 0600, "$d/$label.pem";
    SgSign::Test::openssl('pkey', '-in', "$d/$label.pem", '-outform', 'DER',
        '-out', "$d/$label.der");
    SgSign::Test::openssl('pkey', '-in', "$d/$label.pem", '-pubout',
        '-outform', 'DER', '-out', "$d/$label.pub.der");
    $self->tool('--write-object', "$d/$label.der", '--type', 'privkey',
        '--label', $label, '--id', $id);
    $self->tool('--write-object', "$d/$label.pub.der", '--type', 'pubkey',
        '--label', $label, '--id', $id);
    # the key material leaves the disk: only the token has it now
    unlink "$d/$label.pem", "$d/$label.der";
    return $self->describe($label, $id);
}

# the token's public key object, read back from the token
sub describe {
    my ($self, $label, $id) = @_;
    my $d = $self->{t}->dir . '/keys';
    my $der = "$d/$label.token-pub.der";
    $self->tool('--read-object', '--type', 'pubkey', '--label', $label,
        '--output-file', $der);
    my $pub = "$d/$label.token-pub.pem";
    SgSign::Test::openssl('pkey', '-pubin', '-inform', 'DER', '-in', $der,
        '-out', $pub);
    return {
        label => $label, id => $id, pub => $pub,
        uri => "pkcs11:token=$self->{token};object=$label",
        fingerprint => sha256_hex(read_file($der)),
    };
}

# the token goes away (a pulled HSM, a network HSM down) and comes back
sub remove  { rename "$_[0]{dir}/tokens", "$_[0]{dir}/tokens.away" or die $! }
sub restore { rename "$_[0]{dir}/tokens.away", "$_[0]{dir}/tokens" or die $! }

# nginx.conf's main level: the workers see the token (and the spy/shim)
sub main {
    my ($self, @more) = @_;
    return join '', map { "env $_;\n" } 'SOFTHSM2_CONF', @more;
}

# t/lib/p11shim.c, built once: { so, ctl } (write words into ctl)
sub shim {
    my ($self) = @_;
    return $self->{shim} if $self->{shim};
    my $so = "$self->{dir}/p11shim.so";
    my $cflags = $self->run('pkg-config', '--cflags', 'p11-kit-1');
    chomp $cflags;
    $self->run('cc', '-shared', '-fPIC', '-O2', '-Wall', '-Werror',
        (split ' ', $cflags), '-o', $so,
        "$SgSign::Test::ROOT/t/lib/p11shim.c", '-ldl');
    my $ctl = write_file("$self->{dir}/shim.ctl", '', 0644);
    $ENV{SG_P11SHIM_CTL} = $ctl;
    return $self->{shim} = { so => $so, ctl => $ctl };
}

sub shim_set {
    my ($self, $words) = @_;
    # 0666: the workers (not root) count "flaky" failures down in it
    write_file($self->shim->{ctl}, $words, 0666);
}

sub shim_logins {
    my ($self) = @_;
    my $l = read_file($self->shim->{ctl} . '.logins') // '';
    return scalar(() = $l =~ /C_Login/g);
}

1;
