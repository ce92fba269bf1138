# Godot 3.2's DTLS (PacketPeerDTLS and DTLSServer on mbedTLS) carrying a
# plain ENet connection, the way Godot's own ENet DTLS sockets do: each
# ENet datagram is one put_packet, so one DTLS record in one UDP datagram.
# Used by netburi's DTLS interoperability tests because Debian's
# godot3-server is built against the system libenet, which has no DTLS:
# there NetworkedMultiplayerENet ignores use_dtls. Run as
#     godot3-server --path DIR -s dtls_pipe.gd -- client ENET_PORT SERVER_PORT CERT HOST
#     godot3-server --path DIR -s dtls_pipe.gd -- server PORT ENET_PORT CERT KEY
# client: takes ENet datagrams on 127.0.0.1:ENET_PORT and carries them over
#   DTLS to HOST:SERVER_PORT, verifying the server against CERT and HOST;
#   the handshake starts with the first ENet datagram, and datagrams sent
#   during it are dropped (ENet sends them again).
# server: takes one DTLS client on 127.0.0.1:PORT (DTLSServer with CERT and
#   KEY, cookies on) and carries its datagrams to a plain ENet host on
#   127.0.0.1:ENET_PORT.
# Prints "listening on port N", then "dtls connected". Exits 0 after
# printing "PASS" when the DTLS peer closes the connection (close_notify),
# 2 when the connection ends in an error after it was up (the peer's socket
# went away), 1 after printing "FAIL: why", 3 when its port cannot be
# bound.
extends SceneTree

const DEADLINE_MSEC = 20000

var role
var enet_side = PacketPeerUDP.new()  # toward the plain ENet host
var dtls_peer = null
var udp_server = null
var dtls_server = null
var cert = X509Certificate.new()
var host = ""
var server_port = 0
var started = OS.get_ticks_msec()
var finished = false
var was_connected = false


func _init():
	Engine.target_fps = 1000
	var args = Array(OS.get_cmdline_args())
	var at = args.find("--")
	role = args[at + 1]
	var port = int(args[at + 2])
	if cert.load(args[at + 4]) != OK:
		_fail("cannot load certificate")
		return
	if role == "client":
		server_port = int(args[at + 3])
		host = args[at + 5]
		if enet_side.listen(port, "127.0.0.1") != OK:
			_exit_bind(port)
			return
	else:
		var key = CryptoKey.new()
		if key.load(args[at + 5]) != OK:
			_fail("cannot load key")
			return
		udp_server = UDPServer.new()
		if udp_server.listen(port, "127.0.0.1") != OK:
			_exit_bind(port)
			return
		dtls_server = DTLSServer.new()
		if dtls_server.setup(key, cert) != OK:
			_fail("DTLSServer.setup failed")
			return
		enet_side.connect_to_host("127.0.0.1", int(args[at + 3]))
	print("listening on port %d" % port)


func _exit_bind(port):
	print("cannot listen on port %d" % port)
	finished = true
	quit(3)


func _idle(_delta):
	if finished:
		return
	if OS.get_ticks_msec() - started > DEADLINE_MSEC:
		_fail("timed out (dtls connected %s)" % was_connected)
		return
	if role == "server":
		udp_server.poll()
		if dtls_peer == null and udp_server.is_connection_available():
			var p = dtls_server.take_connection(udp_server.take_connection())
			if p.get_status() == PacketPeerDTLS.STATUS_HANDSHAKING:
				dtls_peer = p
	while enet_side.get_available_packet_count() > 0:
		var pkt = enet_side.get_packet()
		if role == "client":
			enet_side.set_dest_address(enet_side.get_packet_ip(), enet_side.get_packet_port())
			if dtls_peer == null:
				var udp = PacketPeerUDP.new()
				udp.connect_to_host(IP.resolve_hostname(host), server_port)
				dtls_peer = PacketPeerDTLS.new()
				if dtls_peer.connect_to_peer(udp, true, host, cert) != OK:
					_fail("connect_to_peer failed")
					return
		if dtls_peer != null and dtls_peer.get_status() == PacketPeerDTLS.STATUS_CONNECTED:
			dtls_peer.put_packet(pkt)
	if dtls_peer == null:
		return
	dtls_peer.poll()
	var status = dtls_peer.get_status()
	if status == PacketPeerDTLS.STATUS_CONNECTED:
		if not was_connected:
			print("dtls connected")
			was_connected = true
		while dtls_peer.get_available_packet_count() > 0:
			enet_side.put_packet(dtls_peer.get_packet())
	elif status == PacketPeerDTLS.STATUS_DISCONNECTED and was_connected:
		print("PASS")
		finished = true
		quit(0)
	elif status == PacketPeerDTLS.STATUS_ERROR and was_connected:
		# The other side's socket closed before its close_notify was read
		# (Linux reports the ICMP error first).
		print("closed with error")
		finished = true
		quit(2)
	elif status != PacketPeerDTLS.STATUS_HANDSHAKING:
		_fail("dtls status %d" % status)


func _fail(why):
	if finished:
		return
	print("FAIL: " + why)
	finished = true
	quit(1)
