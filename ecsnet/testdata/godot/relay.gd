# A Godot 3 client of a netburi server that relays between clients. Run as
#     godot3-server --path DIR -s relay.gd -- PORT
# It connects to 127.0.0.1:PORT and waits for the server to announce one
# other client (peer_connected). It sends that client "unicast from ID"
# (set_target_peer(other)) and everyone "broadcast from ID" (target 0), and
# expects the same two packets from the other client, with
# get_packet_peer() == the other client. Then it tells the server "ok" and
# exits 0 when the server answers "bye".
#
# Prints "unique_id N" and "peer_connected N". On anything wrong it prints
# "FAIL: why" and exits 1.
extends SceneTree

const DEADLINE_MSEC = 20000

var peer = NetworkedMultiplayerENet.new()
var other_id = 0
var got = {}  # payload -> sender, for packets from other clients
var sent_ok = false
var started = OS.get_ticks_msec()
var finished = false


func _init():
	Engine.target_fps = 200
	var args = Array(OS.get_cmdline_args())
	var port = int(args[args.find("--") + 1])
	peer.transfer_mode = NetworkedMultiplayerPeer.TRANSFER_MODE_RELIABLE
	peer.connect("peer_connected", self, "_on_peer_connected")
	peer.connect("connection_failed", self, "_fail", ["connection failed"])
	peer.connect("server_disconnected", self, "_fail", ["server disconnected"])
	var err = peer.create_client("127.0.0.1", port)
	if err != OK:
		_fail("create_client: error %d" % err)
		return
	print("unique_id %d" % peer.get_unique_id())


func _on_peer_connected(id):
	print("peer_connected %d" % id)
	if id == 1:
		return
	if other_id != 0:
		_fail("a third peer %d connected" % id)
		return
	other_id = id
	_send(other_id, "unicast from %d" % peer.get_unique_id())
	_send(0, "broadcast from %d" % peer.get_unique_id())


func _idle(_delta):
	if finished:
		return
	if OS.get_ticks_msec() - started > DEADLINE_MSEC:
		_fail("timed out: other %d, got %s" % [other_id, got])
		return
	peer.poll()
	while not finished and peer.get_available_packet_count() > 0:
		var from = peer.get_packet_peer()
		var text = peer.get_packet().get_string_from_utf8()
		if from == 1 and text == "bye":
			print("PASS")
			finished = true
			quit(0)
		elif from > 1 and not got.has(text):
			got[text] = from
		else:
			_fail("unexpected %s from peer %d" % [text, from])
	if finished or sent_ok or other_id == 0 or got.size() < 2:
		return
	for text in ["unicast from %d" % other_id, "broadcast from %d" % other_id]:
		if got.get(text, 0) != other_id:
			_fail("got %s, want %s from peer %d" % [got, text, other_id])
			return
	_send(1, "ok")
	sent_ok = true


func _send(target, text):
	peer.set_target_peer(target)
	var err = peer.put_packet(text.to_utf8())
	if err != OK:
		_fail("put_packet %s to %d: error %d" % [text, target, err])


func _fail(why):
	if finished:
		return
	print("FAIL: " + why)
	finished = true
	quit(1)
