"""The cluster's HAProxy configuration (bot/cluster.py) is valid for Debian's HAProxy and
routes every frontend to both replicas; the gateway reads a lost message's answer back from
the tracker (bot/web/rasa.py)."""

import subprocess

from bot import cluster
from bot.settings import load
from bot.web.rasa import answer_in_tracker


def settings(tmp_path):
    return load(
        {"KW_VAR_DIR": str(tmp_path), "KW_GATEWAY_PORT": "18080", "KW_RASA_PORT": "15005", "KW_ACTIONS_PORT": "15055"}
    )


def test_haproxy_accepts_the_configuration(tmp_path):
    ports = cluster.Ports.after(settings(tmp_path))
    assert (ports.gateways, ports.rasas, ports.action_servers) == ([18081, 18082], [15006, 15007], [15056, 15057])
    path = tmp_path / "haproxy.cfg"
    cert = cluster.self_signed_pem(tmp_path / "tls" / "haproxy.pem")
    text = cluster.haproxy_config(settings(tmp_path), ports, cert)
    path.write_text(text)
    result = subprocess.run([cluster.haproxy_bin(), "-c", "-f", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    for port in ports.gateways + ports.rasas + ports.action_servers:
        assert f"127.0.0.1:{port} check" in text
    # A request that reached a replica is never replayed by the balancer: only the gateway
    # knows (from the tracker) whether it was processed.
    assert "retry-on conn-failure\n" in text and "empty-response" not in text
    # A client cannot forge the address the gateways rate-limit by.
    assert text.index("http-request del-header X-Forwarded-For") < text.index("option forwardfor")


def test_haproxy_terminates_tls_with_a_private_self_signed_certificate(tmp_path):
    from cryptography import x509

    cert = cluster.self_signed_pem(tmp_path / "tls" / "haproxy.pem")
    assert cert.stat().st_mode & 0o777 == 0o600 and cert.parent.stat().st_mode & 0o777 == 0o700
    pem = cert.read_bytes()
    assert b"BEGIN PRIVATE KEY" in pem
    names = x509.load_pem_x509_certificate(pem).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert "localhost" in names.value.get_values_for_type(x509.DNSName)
    ports = cluster.Ports.after(load({"KW_VAR_DIR": str(tmp_path), "KW_TLS_PORT": "18443"}))
    text = cluster.haproxy_config(settings(tmp_path), ports, cert)
    assert f"bind 127.0.0.1:18443 ssl crt {cert} " in text
    # The gateways learn the scheme from the balancer only; a client's own header is replaced.
    assert "http-request set-header X-Forwarded-Proto https if { ssl_fc }" in text
    assert "http-request set-header X-Forwarded-Proto http if !{ ssl_fc }" in text
    path = tmp_path / "haproxy.cfg"
    path.write_text(text)
    result = subprocess.run([cluster.haproxy_bin(), "-c", "-f", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    # A second start makes a new key.
    assert cluster.self_signed_pem(cert).read_bytes() != pem


def test_the_cluster_needs_shared_stores(tmp_path):
    stack = cluster.Cluster(settings(tmp_path), tmp_path / "model.tar.gz")
    try:
        stack.build()
    except RuntimeError as exc:
        assert "PostgreSQL" in str(exc) and "Redis" in str(exc)
    else:
        raise AssertionError("a cluster on SQLite without a lock store must not start")


def user(msg_id, text="vraag"):
    return {"event": "user", "text": text, "metadata": {"msg_id": msg_id}}


def bot(text, **data):
    return {"event": "bot", "text": text, "data": data, "metadata": {}}


def test_the_answer_to_a_lost_message_comes_from_the_tracker():
    events = [
        user("m1"),
        bot("eerste"),
        {"event": "action", "name": "action_listen"},
        user("m2"),
        bot("tweede", buttons=[{"title": "Ja", "payload": "/affirm"}]),
        {"event": "bot", "text": "Hoi", "metadata": {"handoff_id": "h-1-2"}},
        bot(None, custom={"sources": ["S1"]}),
        user("m3"),
        bot("derde"),
    ]
    assert answer_in_tracker(events, "m2") == [
        {"text": "tweede", "buttons": [{"title": "Ja", "payload": "/affirm"}], "image": None, "custom": None},
        {"text": None, "buttons": None, "image": None, "custom": {"sources": ["S1"]}},
    ]
    assert answer_in_tracker(events, "m3") == [{"text": "derde", "buttons": None, "image": None, "custom": None}]
    assert answer_in_tracker(events, "m9") is None  # not processed: send it again
    assert answer_in_tracker(None, "m1") is None
    assert answer_in_tracker([user("m4")], "m4") == []  # processed, nothing to say
