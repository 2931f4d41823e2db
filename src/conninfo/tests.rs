//! Table tests of the parser. Each row is a connection string and what libpq 18's
//! `PQconninfoParse` makes of it: the values and messages were taken from libpq itself, and the
//! differential integration test checks the same strings against libpq live. Where libpq would
//! echo a secret in an error, the row holds pgtls's redacted message.

use super::*;

enum Want {
    Ok(&'static [(&'static str, &'static str)]),
    Err(&'static str),
}

use Want::{Err, Ok};

#[rustfmt::skip]
const CASES: &[(&str, Want)] = &[
    ("host=db.example.com", Ok(&[("host", "db.example.com")])),
    ("host=db.example.com port=5433 dbname=app user=alice", Ok(&[("dbname", "app"), ("host", "db.example.com"), ("port", "5433"), ("user", "alice")])),
    ("  host = db.example.com   port=1", Ok(&[("host", "db.example.com"), ("port", "1")])),
    ("host= port=1", Ok(&[("host", "port=1")])),
    ("host=  port=1", Ok(&[("host", "port=1")])),
    ("host", Err("missing \"=\" after \"host\" in connection info string")),
    ("host x=1", Err("missing \"=\" after \"host\" in connection info string")),
    ("=value", Err("invalid connection option \"\"")),
    ("host='a b'", Ok(&[("host", "a b")])),
    ("host='it\\'s'", Ok(&[("host", "it's")])),
    ("host='unterminated", Err("unterminated quoted string in connection info string")),
    ("host='a'port=1", Ok(&[("host", "a"), ("port", "1")])),
    ("host=a\\ b", Ok(&[("host", "a b")])),
    ("host=a\\\\b", Ok(&[("host", "a\\b")])),
    ("host=a\\", Ok(&[("host", "a")])),
    ("host=\\'x", Ok(&[("host", "'x")])),
    ("host=x'y'", Ok(&[("host", "x'y'")])),
    ("dbname='' host=h", Ok(&[("dbname", ""), ("host", "h")])),
    ("dbname='' ", Ok(&[("dbname", "")])),
    ("host='' port=''", Ok(&[("host", ""), ("port", "")])),
    ("host=a host=b", Ok(&[("host", "b")])),
    ("HOST=a", Err("invalid connection option \"HOST\"")),
    ("foo=bar", Err("invalid connection option \"foo\"")),
    ("host=a\tport=1", Ok(&[("host", "a"), ("port", "1")])),
    ("host=a", Ok(&[("host", "a")])),
    ("port=1", Ok(&[("port", "1")])),
    ("requiressl=1", Ok(&[("sslmode", "require")])),
    ("requiressl=0", Ok(&[("sslmode", "prefer")])),
    ("requiressl=1x", Ok(&[("sslmode", "require")])),
    ("requiressl=", Ok(&[("sslmode", "prefer")])),
    ("requiressl=yes", Ok(&[("sslmode", "prefer")])),
    ("requiressl=1 sslmode=verify-full", Ok(&[("sslmode", "verify-full")])),
    ("sslmode=verify-full requiressl=1", Ok(&[("sslmode", "require")])),
    ("sslmode=disable", Ok(&[("sslmode", "disable")])),
    ("sslmode=allow", Ok(&[("sslmode", "allow")])),
    ("sslmode=prefer", Ok(&[("sslmode", "prefer")])),
    ("sslmode=require", Ok(&[("sslmode", "require")])),
    ("sslmode=verify-ca", Ok(&[("sslmode", "verify-ca")])),
    ("sslmode=verify-full", Ok(&[("sslmode", "verify-full")])),
    ("sslmode=verify_full", Ok(&[("sslmode", "verify_full")])),
    ("sslmode=Require", Ok(&[("sslmode", "Require")])),
    ("sslmode=", Ok(&[("sslmode", "")])),
    ("sslmode=' require'", Ok(&[("sslmode", " require")])),
    ("sslnegotiation=postgres", Ok(&[("sslnegotiation", "postgres")])),
    ("sslnegotiation=direct", Ok(&[("sslnegotiation", "direct")])),
    ("sslnegotiation=direct sslmode=require", Ok(&[("sslmode", "require"), ("sslnegotiation", "direct")])),
    ("sslnegotiation=direct sslmode=verify-full", Ok(&[("sslmode", "verify-full"), ("sslnegotiation", "direct")])),
    ("sslnegotiation=direct sslmode=disable", Ok(&[("sslmode", "disable"), ("sslnegotiation", "direct")])),
    ("sslnegotiation=direct sslmode=allow", Ok(&[("sslmode", "allow"), ("sslnegotiation", "direct")])),
    ("sslnegotiation=Direct sslmode=require", Ok(&[("sslmode", "require"), ("sslnegotiation", "Direct")])),
    ("sslnegotiation=", Ok(&[("sslnegotiation", "")])),
    ("sslcertmode=disable", Ok(&[("sslcertmode", "disable")])),
    ("sslcertmode=allow", Ok(&[("sslcertmode", "allow")])),
    ("sslcertmode=require", Ok(&[("sslcertmode", "require")])),
    ("sslcertmode=maybe", Ok(&[("sslcertmode", "maybe")])),
    ("channel_binding=disable", Ok(&[("channel_binding", "disable")])),
    ("channel_binding=require", Ok(&[("channel_binding", "require")])),
    ("channel_binding=yes", Ok(&[("channel_binding", "yes")])),
    ("gssencmode=disable", Ok(&[("gssencmode", "disable")])),
    ("gssencmode=prefer", Ok(&[("gssencmode", "prefer")])),
    ("gssencmode=nope", Ok(&[("gssencmode", "nope")])),
    ("target_session_attrs=any", Ok(&[("target_session_attrs", "any")])),
    ("target_session_attrs=read-write", Ok(&[("target_session_attrs", "read-write")])),
    ("target_session_attrs=read-only", Ok(&[("target_session_attrs", "read-only")])),
    ("target_session_attrs=primary", Ok(&[("target_session_attrs", "primary")])),
    ("target_session_attrs=standby", Ok(&[("target_session_attrs", "standby")])),
    ("target_session_attrs=prefer-standby", Ok(&[("target_session_attrs", "prefer-standby")])),
    ("target_session_attrs=readwrite", Ok(&[("target_session_attrs", "readwrite")])),
    ("load_balance_hosts=disable", Ok(&[("load_balance_hosts", "disable")])),
    ("load_balance_hosts=random", Ok(&[("load_balance_hosts", "random")])),
    ("load_balance_hosts=yes", Ok(&[("load_balance_hosts", "yes")])),
    ("ssl_min_protocol_version=TLSv1", Ok(&[("ssl_min_protocol_version", "TLSv1")])),
    ("ssl_min_protocol_version=TLSv1.1", Ok(&[("ssl_min_protocol_version", "TLSv1.1")])),
    ("ssl_min_protocol_version=TLSv1.2", Ok(&[("ssl_min_protocol_version", "TLSv1.2")])),
    ("ssl_min_protocol_version=TLSv1.3", Ok(&[("ssl_min_protocol_version", "TLSv1.3")])),
    ("ssl_min_protocol_version=tlsv1.3", Ok(&[("ssl_min_protocol_version", "tlsv1.3")])),
    ("ssl_min_protocol_version=TLSv1.0", Ok(&[("ssl_min_protocol_version", "TLSv1.0")])),
    ("ssl_min_protocol_version=SSLv3", Ok(&[("ssl_min_protocol_version", "SSLv3")])),
    ("ssl_min_protocol_version=", Ok(&[("ssl_min_protocol_version", "")])),
    ("ssl_max_protocol_version=TLSv1.2", Ok(&[("ssl_max_protocol_version", "TLSv1.2")])),
    ("ssl_max_protocol_version=TLSv1.4", Ok(&[("ssl_max_protocol_version", "TLSv1.4")])),
    ("ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=TLSv1.2", Ok(&[("ssl_max_protocol_version", "TLSv1.2"), ("ssl_min_protocol_version", "TLSv1.3")])),
    ("ssl_min_protocol_version=TLSv1.2 ssl_max_protocol_version=TLSv1.2", Ok(&[("ssl_max_protocol_version", "TLSv1.2"), ("ssl_min_protocol_version", "TLSv1.2")])),
    ("ssl_max_protocol_version=TLSv1.1", Ok(&[("ssl_max_protocol_version", "TLSv1.1")])),
    ("ssl_min_protocol_version=TLSv1 ssl_max_protocol_version=TLSv1.1", Ok(&[("ssl_max_protocol_version", "TLSv1.1"), ("ssl_min_protocol_version", "TLSv1")])),
    ("min_protocol_version=3.0", Ok(&[("min_protocol_version", "3.0")])),
    ("min_protocol_version=3.2", Ok(&[("min_protocol_version", "3.2")])),
    ("min_protocol_version=latest", Ok(&[("min_protocol_version", "latest")])),
    ("min_protocol_version=3.1", Ok(&[("min_protocol_version", "3.1")])),
    ("min_protocol_version=", Ok(&[("min_protocol_version", "")])),
    ("max_protocol_version=3.0 min_protocol_version=3.2", Ok(&[("max_protocol_version", "3.0"), ("min_protocol_version", "3.2")])),
    ("max_protocol_version=latest min_protocol_version=3.2", Ok(&[("max_protocol_version", "latest"), ("min_protocol_version", "3.2")])),
    ("require_auth=password", Ok(&[("require_auth", "password")])),
    ("require_auth=md5,scram-sha-256", Ok(&[("require_auth", "md5,scram-sha-256")])),
    ("require_auth=!md5,!password", Ok(&[("require_auth", "!md5,!password")])),
    ("require_auth=md5,!password", Ok(&[("require_auth", "md5,!password")])),
    ("require_auth=!md5,password", Ok(&[("require_auth", "!md5,password")])),
    ("require_auth=md5,md5", Ok(&[("require_auth", "md5,md5")])),
    ("require_auth=none", Ok(&[("require_auth", "none")])),
    ("require_auth=none,none", Ok(&[("require_auth", "none,none")])),
    ("require_auth=!none", Ok(&[("require_auth", "!none")])),
    ("require_auth=gss,sspi", Ok(&[("require_auth", "gss,sspi")])),
    ("require_auth=oauth", Ok(&[("require_auth", "oauth")])),
    ("require_auth=kerberos", Ok(&[("require_auth", "kerberos")])),
    ("require_auth=", Ok(&[("require_auth", "")])),
    ("require_auth=md5,", Ok(&[("require_auth", "md5,")])),
    ("scram_client_key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", Ok(&[("scram_client_key", "(redacted)")])),
    ("scram_client_key=AAAA", Ok(&[("scram_client_key", "(redacted)")])),
    ("scram_client_key=!!!!", Ok(&[("scram_client_key", "(redacted)")])),
    ("scram_server_key=AAAA", Ok(&[("scram_server_key", "(redacted)")])),
    ("sslrootcert=system", Ok(&[("sslrootcert", "system")])),
    ("sslrootcert=system sslmode=verify-full", Ok(&[("sslmode", "verify-full"), ("sslrootcert", "system")])),
    ("sslrootcert=system sslmode=require", Ok(&[("sslmode", "require"), ("sslrootcert", "system")])),
    ("sslrootcert=system sslmode=verify-ca", Ok(&[("sslmode", "verify-ca"), ("sslrootcert", "system")])),
    ("sslrootcert=system sslmode=prefer", Ok(&[("sslmode", "prefer"), ("sslrootcert", "system")])),
    ("sslrootcert=system sslmode=disable", Ok(&[("sslmode", "disable"), ("sslrootcert", "system")])),
    ("sslrootcert=System", Ok(&[("sslrootcert", "System")])),
    ("sslrootcert=/etc/ssl/root.crt sslmode=verify-full", Ok(&[("sslmode", "verify-full"), ("sslrootcert", "/etc/ssl/root.crt")])),
    ("sslnegotiation=direct sslmode=prefer sslrootcert=system", Ok(&[("sslmode", "prefer"), ("sslnegotiation", "direct"), ("sslrootcert", "system")])),
    ("sslmode=bogus sslnegotiation=bogus", Ok(&[("sslmode", "bogus"), ("sslnegotiation", "bogus")])),
    ("channel_binding=x sslmode=y", Ok(&[("channel_binding", "x"), ("sslmode", "y")])),
    ("require_auth=x channel_binding=y", Ok(&[("channel_binding", "y"), ("require_auth", "x")])),
    ("sslcertmode=x gssencmode=y", Ok(&[("gssencmode", "y"), ("sslcertmode", "x")])),
    ("ssl_min_protocol_version=x sslcertmode=y", Ok(&[("ssl_min_protocol_version", "x"), ("sslcertmode", "y")])),
    ("gssencmode=x target_session_attrs=y", Ok(&[("gssencmode", "x"), ("target_session_attrs", "y")])),
    ("target_session_attrs=x load_balance_hosts=y", Ok(&[("load_balance_hosts", "y"), ("target_session_attrs", "x")])),
    ("load_balance_hosts=x min_protocol_version=y", Ok(&[("load_balance_hosts", "x"), ("min_protocol_version", "y")])),
    ("host=a,b", Ok(&[("host", "a,b")])),
    ("host=a,b,c port=1", Ok(&[("host", "a,b,c"), ("port", "1")])),
    ("host=a,b,c port=1,2,3", Ok(&[("host", "a,b,c"), ("port", "1,2,3")])),
    ("host=a,b,c port=1,2", Ok(&[("host", "a,b,c"), ("port", "1,2")])),
    ("host=a,b port=1,2,3", Ok(&[("host", "a,b"), ("port", "1,2,3")])),
    ("host=a,b port=1,", Ok(&[("host", "a,b"), ("port", "1,")])),
    ("host=a,b port=,", Ok(&[("host", "a,b"), ("port", ",")])),
    ("host=a, port=1", Ok(&[("host", "a,"), ("port", "1")])),
    ("host=,b", Ok(&[("host", ",b")])),
    ("host=a,b hostaddr=127.0.0.1,127.0.0.2", Ok(&[("host", "a,b"), ("hostaddr", "127.0.0.1,127.0.0.2")])),
    ("host=a,b hostaddr=127.0.0.1", Ok(&[("host", "a,b"), ("hostaddr", "127.0.0.1")])),
    ("host=a hostaddr=127.0.0.1,127.0.0.2", Ok(&[("host", "a"), ("hostaddr", "127.0.0.1,127.0.0.2")])),
    ("hostaddr=127.0.0.1", Ok(&[("hostaddr", "127.0.0.1")])),
    ("hostaddr=::1", Ok(&[("hostaddr", "::1")])),
    ("hostaddr=not-an-address", Ok(&[("hostaddr", "not-an-address")])),
    ("hostaddr=127.0.0.1,::1 port=1,2", Ok(&[("hostaddr", "127.0.0.1,::1"), ("port", "1,2")])),
    ("hostaddr=,127.0.0.1 host=a,b", Ok(&[("host", "a,b"), ("hostaddr", ",127.0.0.1")])),
    ("hostaddr=256.1.1.1", Ok(&[("hostaddr", "256.1.1.1")])),
    ("host=/tmp", Ok(&[("host", "/tmp")])),
    ("host=/var/run/postgresql,db.example.com", Ok(&[("host", "/var/run/postgresql,db.example.com")])),
    ("host=@abstract", Ok(&[("host", "@abstract")])),
    ("host=db port=0", Ok(&[("host", "db"), ("port", "0")])),
    ("host=db port=65535", Ok(&[("host", "db"), ("port", "65535")])),
    ("host=db port=65536", Ok(&[("host", "db"), ("port", "65536")])),
    ("host=db port=-1", Ok(&[("host", "db"), ("port", "-1")])),
    ("host=db port=+5432", Ok(&[("host", "db"), ("port", "+5432")])),
    ("host=db port=abc", Ok(&[("host", "db"), ("port", "abc")])),
    ("host=db port=5432x", Ok(&[("host", "db"), ("port", "5432x")])),
    ("host=db port=' 5432 '", Ok(&[("host", "db"), ("port", " 5432 ")])),
    ("host=db port=1,x", Ok(&[("host", "db"), ("port", "1,x")])),
    ("host=127.0.0.1 port=1 connect_timeout=10", Ok(&[("connect_timeout", "10"), ("host", "127.0.0.1"), ("port", "1")])),
    ("host=127.0.0.1 port=1 connect_timeout=abc", Ok(&[("connect_timeout", "abc"), ("host", "127.0.0.1"), ("port", "1")])),
    ("host=127.0.0.1 port=1 connect_timeout=-5", Ok(&[("connect_timeout", "-5"), ("host", "127.0.0.1"), ("port", "1")])),
    ("host=127.0.0.1 port=1 connect_timeout=' 3 '", Ok(&[("connect_timeout", " 3 "), ("host", "127.0.0.1"), ("port", "1")])),
    ("host=127.0.0.1 port=1 keepalives=0", Ok(&[("host", "127.0.0.1"), ("keepalives", "0"), ("port", "1")])),
    ("host=127.0.0.1 port=1 keepalives=x", Ok(&[("host", "127.0.0.1"), ("keepalives", "x"), ("port", "1")])),
    ("host=127.0.0.1 port=1 keepalives_idle=x", Ok(&[("host", "127.0.0.1"), ("keepalives_idle", "x"), ("port", "1")])),
    ("host=127.0.0.1 port=1 keepalives=0 keepalives_idle=x", Ok(&[("host", "127.0.0.1"), ("keepalives", "0"), ("keepalives_idle", "x"), ("port", "1")])),
    ("host=127.0.0.1 port=1 keepalives_interval=5x", Ok(&[("host", "127.0.0.1"), ("keepalives_interval", "5x"), ("port", "1")])),
    ("host=127.0.0.1 port=1 keepalives_count=", Ok(&[("host", "127.0.0.1"), ("keepalives_count", ""), ("port", "1")])),
    ("host=127.0.0.1 port=1 tcp_user_timeout=x", Ok(&[("host", "127.0.0.1"), ("port", "1"), ("tcp_user_timeout", "x")])),
    ("host=127.0.0.1 port=1 keepalives=0 tcp_user_timeout=x", Ok(&[("host", "127.0.0.1"), ("keepalives", "0"), ("port", "1"), ("tcp_user_timeout", "x")])),
    ("host=/tmp keepalives=x", Ok(&[("host", "/tmp"), ("keepalives", "x")])),
    ("host=db sslsni=0", Ok(&[("host", "db"), ("sslsni", "0")])),
    ("host=db sslsni=x", Ok(&[("host", "db"), ("sslsni", "x")])),
    ("host=db sslcompression=1", Ok(&[("host", "db"), ("sslcompression", "1")])),
    ("host=db application_name=my\\ app", Ok(&[("application_name", "my app"), ("host", "db")])),
    ("host=db options='-c search_path=x'", Ok(&[("host", "db"), ("options", "-c search_path=x")])),
    ("host=db client_encoding=UTF8", Ok(&[("client_encoding", "UTF8"), ("host", "db")])),
    ("host=db replication=database", Ok(&[("host", "db"), ("replication", "database")])),
    ("host=db gssdelegation=1", Ok(&[("gssdelegation", "1"), ("host", "db")])),
    ("host=db krbsrvname=pg gsslib=gssapi", Ok(&[("gsslib", "gssapi"), ("host", "db"), ("krbsrvname", "pg")])),
    ("host=db requirepeer=postgres", Ok(&[("host", "db"), ("requirepeer", "postgres")])),
    ("host=db fallback_application_name=x", Ok(&[("fallback_application_name", "x"), ("host", "db")])),
    ("host=db sslkeylogfile=/tmp/keys", Ok(&[("host", "db"), ("sslkeylogfile", "/tmp/keys")])),
    ("host=db oauth_issuer=https://issuer oauth_client_id=x oauth_scope=openid", Ok(&[("host", "db"), ("oauth_client_id", "x"), ("oauth_issuer", "https://issuer"), ("oauth_scope", "openid")])),
    ("host=db oauth_client_secret=hidden", Ok(&[("host", "db"), ("oauth_client_secret", "(redacted)")])),
    ("host=db password=secret", Ok(&[("host", "db"), ("password", "(redacted)")])),
    ("host=db password='sec ret'", Ok(&[("host", "db"), ("password", "(redacted)")])),
    ("host=db sslpassword=keypass sslkey=/k sslcert=/c", Ok(&[("host", "db"), ("sslcert", "/c"), ("sslkey", "/k"), ("sslpassword", "(redacted)")])),
    ("host=db sslcrl=/crl sslcrldir=/crldir", Ok(&[("host", "db"), ("sslcrl", "/crl"), ("sslcrldir", "/crldir")])),
    ("host=db passfile=/nonexistent/pgpass", Ok(&[("host", "db"), ("passfile", "/nonexistent/pgpass")])),
    ("host=db service=nosuchservice", Ok(&[("host", "db"), ("service", "nosuchservice")])),
    ("service=", Ok(&[("service", "")])),
    ("postgresql://", Ok(&[])),
    ("postgres://", Ok(&[])),
    ("postgresql://db.example.com", Ok(&[("host", "db.example.com")])),
    ("postgresql://db.example.com:5433", Ok(&[("host", "db.example.com"), ("port", "5433")])),
    ("postgresql://db.example.com/app", Ok(&[("dbname", "app"), ("host", "db.example.com")])),
    ("postgresql://db.example.com:5433/app", Ok(&[("dbname", "app"), ("host", "db.example.com"), ("port", "5433")])),
    ("postgresql://alice@db.example.com", Ok(&[("host", "db.example.com"), ("user", "alice")])),
    ("postgresql://alice:secret@db.example.com/app", Ok(&[("dbname", "app"), ("host", "db.example.com"), ("password", "(redacted)"), ("user", "alice")])),
    ("postgresql://alice:@db.example.com", Ok(&[("host", "db.example.com"), ("user", "alice")])),
    ("postgresql://:secret@db.example.com", Ok(&[("host", "db.example.com"), ("password", "(redacted)")])),
    ("postgresql://@db.example.com", Ok(&[("host", "db.example.com")])),
    ("postgresql://u%40x@[::1]:5433,db2/app?sslmode=verify-full", Ok(&[("dbname", "app"), ("host", "::1,db2"), ("port", "5433,"), ("sslmode", "verify-full"), ("user", "u@x")])),
    ("postgresql://[::1]", Ok(&[("host", "::1")])),
    ("postgresql://[::1]:5433", Ok(&[("host", "::1"), ("port", "5433")])),
    ("postgresql://[::1]/app", Ok(&[("dbname", "app"), ("host", "::1")])),
    ("postgresql://[::1]?sslmode=require", Ok(&[("host", "::1"), ("sslmode", "require")])),
    ("postgresql://[::1],[::2]:5433", Ok(&[("host", "::1,::2"), ("port", ",5433")])),
    ("postgresql://[fe80::1%25eth0]", Ok(&[("host", "fe80::1%eth0")])),
    ("postgresql://[::1", Err("end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"postgresql://[::1\"")),
    ("postgresql://[]/app", Err("IPv6 host address may not be empty in URI: \"postgresql://[]/app\"")),
    ("postgresql://[::1]x", Err("unexpected character \"x\" at position 19 in URI (expected \":\" or \"/\"): \"postgresql://[::1]x\"")),
    ("postgresql://[::1]:5433x/app", Ok(&[("dbname", "app"), ("host", "::1"), ("port", "5433x")])),
    ("postgresql://h1,h2,h3", Ok(&[("host", "h1,h2,h3"), ("port", ",,")])),
    ("postgresql://h1:1,h2:2", Ok(&[("host", "h1,h2"), ("port", "1,2")])),
    ("postgresql://h1:1,h2", Ok(&[("host", "h1,h2"), ("port", "1,")])),
    ("postgresql://h1,h2:2", Ok(&[("host", "h1,h2"), ("port", ",2")])),
    ("postgresql://h1,,h3", Ok(&[("host", "h1,,h3"), ("port", ",,")])),
    ("postgresql://:5433", Ok(&[("port", "5433")])),
    ("postgresql://:5433/app", Ok(&[("dbname", "app"), ("port", "5433")])),
    ("postgresql:///app", Ok(&[("dbname", "app")])),
    ("postgresql:///app?host=/tmp", Ok(&[("dbname", "app"), ("host", "/tmp")])),
    ("postgresql://%2Ftmp/app", Ok(&[("dbname", "app"), ("host", "/tmp")])),
    ("postgresql://a%2Cb/app", Ok(&[("dbname", "app"), ("host", "a,b")])),
    ("postgresql://h/a%20b", Ok(&[("dbname", "a b"), ("host", "h")])),
    ("postgresql://h/app%00", Err("forbidden value %00 in percent-encoded value: \"app%00\"")),
    ("postgresql://h/app%zz", Err("invalid percent-encoded token: \"app%zz\"")),
    ("postgresql://h/app%2", Err("invalid percent-encoded token: \"app%2\"")),
    ("postgresql://h/app%", Err("invalid percent-encoded token: \"app%\"")),
    ("postgresql://h/%61pp", Ok(&[("dbname", "app"), ("host", "h")])),
    ("postgresql://h/ app", Ok(&[("dbname", "app"), ("host", "h")])),
    ("postgresql://h/app ", Ok(&[("dbname", "app"), ("host", "h")])),
    ("postgresql://h/ap p", Err("unexpected spaces found in \"ap p\", use percent-encoded spaces (%20) instead")),
    ("postgresql://h/app?sslmode=require", Ok(&[("dbname", "app"), ("host", "h"), ("sslmode", "require")])),
    ("postgresql://h/app?sslmode=require&connect_timeout=10", Ok(&[("connect_timeout", "10"), ("dbname", "app"), ("host", "h"), ("sslmode", "require")])),
    ("postgresql://h/app?ssl=true", Ok(&[("dbname", "app"), ("host", "h"), ("sslmode", "require")])),
    ("postgresql://h/app?ssl=false", Err("invalid URI query parameter: \"ssl\"")),
    ("postgresql://h/app?ssl=1", Err("invalid URI query parameter: \"ssl\"")),
    ("postgresql://h/app?requiressl=1", Ok(&[("dbname", "app"), ("host", "h"), ("sslmode", "require")])),
    ("postgresql://h/app?unknown=1", Err("invalid URI query parameter: \"unknown\"")),
    ("postgresql://h/app?sslmode", Err("missing key/value separator \"=\" in URI query parameter: \"sslmode\"")),
    ("postgresql://h/app?sslmode=a=b", Err("extra key/value separator \"=\" in URI query parameter: \"sslmode\"")),
    ("postgresql://h/app?=x", Err("invalid URI query parameter: \"\"")),
    ("postgresql://h/app?&sslmode=require", Err("missing key/value separator \"=\" in URI query parameter: \"\"")),
    ("postgresql://h/app?sslmode=require&", Ok(&[("dbname", "app"), ("host", "h"), ("sslmode", "require")])),
    ("postgresql://h/app?sslmode=require&&port=1", Err("missing key/value separator \"=\" in URI query parameter: \"\"")),
    ("postgresql://h/app?ssl%6dode=require", Ok(&[("dbname", "app"), ("host", "h"), ("sslmode", "require")])),
    ("postgresql://h/app?sslmode=verify%2Dfull", Ok(&[("dbname", "app"), ("host", "h"), ("sslmode", "verify-full")])),
    ("postgresql://h/app?host=other", Ok(&[("dbname", "app"), ("host", "other")])),
    ("postgresql://h/app?host=a,b&port=1,2", Ok(&[("dbname", "app"), ("host", "a,b"), ("port", "1,2")])),
    ("postgresql://h/app?password=p%zz", Err("invalid percent-encoded token: \"(redacted)\"")),
    ("postgresql://u:p%zz@h/app", Err("invalid percent-encoded token: \"(redacted)\"")),
    ("postgresql://u:p%00@h/app", Err("forbidden value %00 in percent-encoded value: \"(redacted)\"")),
    ("postgresql://u:p%20q@h/app", Ok(&[("dbname", "app"), ("host", "h"), ("password", "(redacted)"), ("user", "u")])),
    ("postgresql://u:p q@h/app", Err("unexpected spaces found in \"(redacted)\", use percent-encoded spaces (%20) instead")),
    ("postgresql://u%zz@h/app", Err("invalid percent-encoded token: \"u%zz\"")),
    // Not URIs to libpq, which would echo the password in its message.
    ("Postgresql://u:pw@h/app", Err("missing \"=\" after \"Postgresql://u:(redacted)@h/app\" in connection info string")),
    ("postgres//u:p/w@h/app", Err("missing \"=\" after \"postgres//u:(redacted)@h/app\" in connection info string")),
    ("u:p@ss@h", Err("missing \"=\" after \"u:(redacted)@h\" in connection info string")),
    ("POSTGRES://u:pw@h/app?sslmode=require", Err("invalid connection option \"POSTGRES://u:(redacted)@h/app?sslmode\"")),
    ("postgresql://u:p@ss@h/app", Ok(&[("dbname", "app"), ("host", "ss@h"), ("password", "(redacted)"), ("user", "u")])),
    ("postgresql://h/app?sslmode=verify-full&sslrootcert=/r.crt&sslnegotiation=direct", Ok(&[("dbname", "app"), ("host", "h"), ("sslmode", "verify-full"), ("sslnegotiation", "direct"), ("sslrootcert", "/r.crt")])),
    ("postgresql://h/app?sslnegotiation=direct&sslmode=prefer", Ok(&[("dbname", "app"), ("host", "h"), ("sslmode", "prefer"), ("sslnegotiation", "direct")])),
    ("postgresql://h/app?sslrootcert=system", Ok(&[("dbname", "app"), ("host", "h"), ("sslrootcert", "system")])),
    ("postgresql://h/app?sslrootcert=system&sslmode=require", Ok(&[("dbname", "app"), ("host", "h"), ("sslmode", "require"), ("sslrootcert", "system")])),
    ("postgresql://h?dbname=x", Ok(&[("dbname", "x"), ("host", "h")])),
    ("postgresql://h/?dbname=x", Ok(&[("dbname", "x"), ("host", "h")])),
    ("postgresql://h/app?application_name=a%20b", Ok(&[("application_name", "a b"), ("dbname", "app"), ("host", "h")])),
    ("postgresql://h/app?options=-c%20x%3Dy", Ok(&[("dbname", "app"), ("host", "h"), ("options", "-c x=y")])),
    ("postgres://h/app", Ok(&[("dbname", "app"), ("host", "h")])),
    ("Postgresql://h/app", Err("missing \"=\" after \"Postgresql://h/app\" in connection info string")),
    ("postgresql:/h/app", Err("missing \"=\" after \"postgresql:/h/app\" in connection info string")),
    ("postgresql://h/app#frag", Ok(&[("dbname", "app#frag"), ("host", "h")])),
    ("postgresql://h:port/app", Ok(&[("dbname", "app"), ("host", "h"), ("port", "port")])),
    ("postgresql://h:0/app", Ok(&[("dbname", "app"), ("host", "h"), ("port", "0")])),
    ("postgresql://h/app?port=99999", Ok(&[("dbname", "app"), ("host", "h"), ("port", "99999")])),
    ("postgresql://h/app?hostaddr=127.0.0.1", Ok(&[("dbname", "app"), ("host", "h"), ("hostaddr", "127.0.0.1")])),
    ("postgresql://h/app?hostaddr=bogus", Ok(&[("dbname", "app"), ("host", "h"), ("hostaddr", "bogus")])),
    ("postgresql://h1,h2/app?hostaddr=127.0.0.1", Ok(&[("dbname", "app"), ("host", "h1,h2"), ("hostaddr", "127.0.0.1"), ("port", ",")])),
    ("postgresql://h/app?sslmode=", Ok(&[("dbname", "app"), ("host", "h"), ("sslmode", "")])),
    ("postgresql://h/app?sslmode=%20require", Ok(&[("dbname", "app"), ("host", "h"), ("sslmode", " require")])),
    ("postgresql://h/app?sslmode=require%20", Ok(&[("dbname", "app"), ("host", "h"), ("sslmode", "require ")])),
    ("postgresql://h/app?channel_binding=require&require_auth=scram-sha-256", Ok(&[("channel_binding", "require"), ("dbname", "app"), ("host", "h"), ("require_auth", "scram-sha-256")])),
    ("postgresql://h/app?min_protocol_version=3.2&max_protocol_version=3.0", Ok(&[("dbname", "app"), ("host", "h"), ("max_protocol_version", "3.0"), ("min_protocol_version", "3.2")])),
    ("host=a\nport=1", Ok(&[("host", "a"), ("port", "1")])),
    ("host=a\u{b}port=1", Ok(&[("host", "a"), ("port", "1")])),
    ("host=a\u{c}port=1", Ok(&[("host", "a"), ("port", "1")])),
    ("host=a\rport=1", Ok(&[("host", "a"), ("port", "1")])),
    ("", Ok(&[])),
    ("   ", Ok(&[])),
    ("host=ünïcode.example", Ok(&[("host", "ünïcode.example")])),
    ("dbname='naïve db'", Ok(&[("dbname", "naïve db")])),
    ("hostaddr=127.0.0.1 port=1 keepalives=x", Ok(&[("hostaddr", "127.0.0.1"), ("keepalives", "x"), ("port", "1")])),
    ("host=127.0.0.1,/tmp port=1 keepalives_idle=x", Ok(&[("host", "127.0.0.1,/tmp"), ("keepalives_idle", "x"), ("port", "1")])),
];

fn shown(params: &Params) -> Vec<(&'static str, String)> {
    let mut shown: Vec<_> = params
        .iter()
        .map(|(k, v)| {
            (
                k.name,
                if k.secret {
                    "(redacted)".to_string()
                } else {
                    v.to_string()
                },
            )
        })
        .collect();
    shown.sort();
    shown
}

#[test]
fn every_string_parses_as_libpq_parses_it() {
    assert!(CASES.len() >= 150);
    let mut failures = Vec::new();
    for (conninfo, want) in CASES {
        let got = parse(conninfo);
        let ok = match (want, &got) {
            (Want::Ok(pairs), Result::Ok(params)) => {
                let want: Vec<_> = pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
                shown(params) == want
            }
            (Want::Err(message), Result::Err(err)) => err.to_string() == *message,
            _ => false,
        };
        if !ok {
            failures.push(format!("{conninfo:?}: got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_nul_byte_is_refused() {
    assert_eq!(parse("host=a\0b"), Result::Err(ParseError::NulByte));
}

#[test]
fn a_stray_word_after_a_bare_password_is_not_echoed() {
    let err = parse("password=my secret").unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing \"=\" after \"(redacted)\" in connection info string"
    );
    let err = parse("password=x sslmode").unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing \"=\" after \"sslmode\" in connection info string"
    );
    let err = parse("password=my secret=word host=h").unwrap_err();
    assert_eq!(err.to_string(), "invalid connection option \"(redacted)\"");
    let err = parse("password='quoted' typo=x").unwrap_err();
    assert_eq!(err.to_string(), "invalid connection option \"typo\"");
}

#[test]
fn password_pieces_that_a_uri_parse_moves_elsewhere_are_named() {
    let cases: [(&str, &[&str]); 6] = [
        ("postgresql://u:p@ss@h/app", &["ss"]),
        ("postgresql://u:p@s@s@h:5/app", &["s@s"]),
        ("postgresql://u:pa/ss@h/db", &["pa", "ss"]),
        ("postgresql://u:pw@h/app", &[]),
        ("postgresql://h:5432/my@db", &[]),
        ("postgresql://u@h/app@x", &[]),
    ];
    for (uri, fragments) in cases {
        assert_eq!(parse(uri).unwrap().password_fragments(), fragments, "{uri}");
    }
    assert_eq!(
        super::redact_fragments("ss@h", &["ss".to_string()]),
        "(redacted)@h"
    );
    assert_eq!(
        super::redact_fragments("pa", &["pa".to_string()]),
        "(redacted)"
    );
    let err = parse("postgresql://h/db?passwordhunter2").unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn uri_errors_never_show_the_password() {
    let err = parse("postgresql://u:hunter2@[::1")
        .unwrap_err()
        .to_string();
    assert!(!err.contains("hunter2"), "{err}");
    assert!(err.contains("postgresql://u:(redacted)@[::1"), "{err}");
    let err = parse("postgresql://h/db?password=hunter2&x=%zz")
        .unwrap_err()
        .to_string();
    assert!(!err.contains("hunter2"), "{err}");
    let err = parse("postgresql://[::1?sslpassword=hunter2")
        .unwrap_err()
        .to_string();
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn megabyte_strings_parse_in_one_pass() {
    let value = "v".repeat(1 << 20);
    let params = parse(&format!("application_name='{value}' host=db")).unwrap();
    assert_eq!(
        params
            .get_at(keywords::index("application_name"))
            .map(str::len),
        Some(1 << 20)
    );
    let uri = format!("postgresql://db/{value}?application_name={value}");
    assert!(parse(&uri).is_ok());
    let err = parse(&format!("{value} x")).unwrap_err();
    assert!(matches!(err, ParseError::MissingEquals(_)));
}
