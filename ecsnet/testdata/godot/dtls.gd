# One Godot 3 NetworkedMultiplayerENet peer with use_dtls on, for netburi's
# DTLS interoperability tests. Run as
#     godot3-server --path DIR -s dtls.gd -- server PORT CERT KEY
#     godot3-server --path DIR -s dtls.gd -- client PORT CERT HOST [DEADLINE [plain|kicked]]
# CERT and KEY are PEM files (loaded with X509Certificate.load and
# CryptoKey.load). The server binds 127.0.0.1:PORT with that certificate
# and key; the client connects to HOST:PORT verifying the server against
# CERT and HOST (dtls_verify on). DEADLINE is how many milliseconds the
# script waits for the exchange (default 20000); "plain" turns use_dtls off,
# for a client that a DTLS server must refuse; "kicked" makes the client,
# after "PASS", wait for the server to disconnect it, print
# "server_disconnected" and only then exit 0.
#
# Once connected, the peer sends "hello from godot" (reliable) to the other
# side and exits 0 after printing "PASS" when it receives "hello from
# netburi" from it. Prints "unique_id N" and "peer_connected N". Exits 1
# after printing "FAIL: why", 3 when the server port cannot be bound.
extends SceneTree

var deadline_msec = 20000
var await_kick = false  # "kicked": after PASS, wait to be disconnected
var waiting_kick = false

var peer = NetworkedMultiplayerENet.new()
var remote_id = 0
var started = OS.get_ticks_msec()
var finished = false


func _init():
	Engine.target_fps = 200
	var args = Array(OS.get_cmdline_args())
	var at = args.find("--")
	var role = args[at + 1]
	var port = int(args[at + 2])
	var cert = X509Certificate.new()
	if cert.load(args[at + 3]) != OK:
		_fail("cannot load certificate %s" % args[at + 3])
		return
	if args.size() > at + 5:
		deadline_msec = int(args[at + 5])
	peer.use_dtls = not (args.size() > at + 6 and args[at + 6] == "plain")
	await_kick = args.size() > at + 6 and args[at + 6] == "kicked"
	print("use_dtls %s" % peer.use_dtls)
	peer.connect("peer_connected", self, "_on_peer_connected")
	peer.connect("peer_disconnected", self, "_fail_id", ["peer disconnected"])
	peer.connect("connection_failed", self, "_fail", ["connection failed"])
	peer.connect("server_disconnected", self, "_on_server_disconnected")
	if role == "server":
		var key = CryptoKey.new()
		if key.load(args[at + 4]) != OK:
			_fail("cannot load key %s" % args[at + 4])
			return
		peer.set_dtls_key(key)
		peer.set_dtls_certificate(cert)
		peer.set_bind_ip("127.0.0.1")
		var err = peer.create_server(port, 2)
		if err != OK:
			print("cannot listen on port %d: error %d" % [port, err])
			finished = true
			quit(3)
			return
		print("listening on port %d" % port)
	else:
		peer.dtls_verify = true
		peer.set_dtls_certificate(cert)
		var err = peer.create_client(args[at + 4], port)
		if err != OK:
			_fail("create_client: error %d" % err)
			return
	print("unique_id %d" % peer.get_unique_id())


func _on_peer_connected(id):
	print("peer_connected %d" % id)
	remote_id = id
	peer.transfer_mode = NetworkedMultiplayerPeer.TRANSFER_MODE_RELIABLE
	peer.set_target_peer(id)
	var err = peer.put_packet("hello from godot".to_utf8())
	if err != OK:
		_fail("put_packet: error %d" % err)


func _idle(_delta):
	if finished:
		return
	if OS.get_ticks_msec() - started > deadline_msec:
		_fail("timed out (connected to %d)" % remote_id)
		return
	peer.poll()
	while not finished and peer.get_available_packet_count() > 0:
		var from = peer.get_packet_peer()
		var text = peer.get_packet().get_string_from_utf8()
		if text != "hello from netburi" or from != remote_id:
			_fail("unexpected %s from %d" % [text, from])
			return
		print("PASS")
		if await_kick:
			waiting_kick = true
			return
		finished = true
		quit(0)


func _fail_id(id, why):
	_fail("%s %d" % [why, id])


func _fail(why):
	if finished:
		return
	print("FAIL: " + why)
	finished = true
	quit(1)


func _on_server_disconnected():
	if not waiting_kick:
		_fail("server disconnected")
		return
	print("server_disconnected")
	finished = true
	quit(0)
