# One Godot 3 NetworkedMultiplayerENet peer that swaps packets with a
# netburi peer in every transfer mode, on the mode's default channel and on
# channel 3 (both ends use channel_count 4). Run as
#     godot3-server --path DIR -s exchange.gd -- server PORT
#     godot3-server --path DIR -s exchange.gd -- client PORT
# The server binds 127.0.0.1:PORT; the client connects to it.
#
# Each side sends its six packets to the other every RESEND_MSEC (so lost
# unreliable ones are sent again; duplicates are fine) until the other says
# "done", and says "done" itself (reliably) once it has all six. Every packet
# must come from the other side's ID and on the channel its mode and
# transfer_channel imply.
#
# Prints "unique_id N" and "peer_connected N". Exits 0 when both sides are
# done, 1 after printing "FAIL: why" on anything wrong, 3 when the server
# port cannot be bound.
extends SceneTree

const UNRELIABLE = NetworkedMultiplayerPeer.TRANSFER_MODE_UNRELIABLE
const ORDERED = NetworkedMultiplayerPeer.TRANSFER_MODE_UNRELIABLE_ORDERED
const RELIABLE = NetworkedMultiplayerPeer.TRANSFER_MODE_RELIABLE

# [transfer_mode, transfer_channel, channel the packet arrives on]
const CASES = [
	[UNRELIABLE, -1, 2],
	[ORDERED, -1, 2],
	[RELIABLE, -1, 1],
	[UNRELIABLE, 3, 3],
	[ORDERED, 3, 3],
	[RELIABLE, 3, 3],
]
const RESEND_MSEC = 100
const DEADLINE_MSEC = 20000

var peer = NetworkedMultiplayerENet.new()
var arrival_channel = {"done": 1}  # payload -> channel it must arrive on
var remote_id = 0  # the netburi peer, once connected
var received = {}  # payloads of CASES received so far
var sent_done = false
var got_done = false
var last_send = -RESEND_MSEC
var started = OS.get_ticks_msec()
var finished = false


static func payload(c):
	return "mode %d channel %d" % [c[0], c[1]]


func _init():
	Engine.target_fps = 200
	var args = Array(OS.get_cmdline_args())
	var role = args[args.find("--") + 1]
	var port = int(args[args.find("--") + 2])
	for c in CASES:
		arrival_channel[payload(c)] = c[2]

	peer.channel_count = 4
	peer.connect("peer_connected", self, "_on_peer_connected")
	peer.connect("peer_disconnected", self, "_on_peer_disconnected")
	peer.connect("connection_failed", self, "_fail", ["connection failed"])
	peer.connect("server_disconnected", self, "_fail", ["server disconnected"])
	if role == "server":
		peer.set_bind_ip("127.0.0.1")
		var err = peer.create_server(port, 1)
		if err != OK:
			print("cannot listen on port %d: error %d" % [port, err])
			finished = true
			quit(3)
			return
		print("listening on port %d" % port)
	else:
		var err = peer.create_client("127.0.0.1", port)
		if err != OK:
			_fail("create_client: error %d" % err)
			return
	print("unique_id %d" % peer.get_unique_id())


func _on_peer_connected(id):
	print("peer_connected %d" % id)
	if remote_id != 0:
		_fail("a second peer %d connected" % id)
	remote_id = id


func _on_peer_disconnected(id):
	_fail("peer %d disconnected early" % id)


func _idle(_delta):
	if finished:
		return
	if OS.get_ticks_msec() - started > DEADLINE_MSEC:
		_fail("timed out: received %s, got done %s" % [received.keys(), got_done])
		return
	peer.poll()
	while not finished and peer.get_available_packet_count() > 0:
		_receive()
	if finished or remote_id == 0:
		return
	if not got_done and OS.get_ticks_msec() - last_send >= RESEND_MSEC:
		last_send = OS.get_ticks_msec()
		for c in CASES:
			_send(c[0], c[1], payload(c))
	if received.size() == CASES.size() and not sent_done:
		_send(RELIABLE, -1, "done")
		sent_done = true
	if sent_done and got_done:
		print("PASS")
		finished = true
		quit(0)


func _receive():
	var from = peer.get_packet_peer()
	var channel = peer.get_packet_channel()
	var text = peer.get_packet().get_string_from_utf8()
	if from != remote_id:
		_fail("%s from peer %d, want %d" % [text, from, remote_id])
	elif peer.get_last_packet_channel() != channel:
		_fail("%s: get_last_packet_channel %d, get_packet_channel said %d"
				% [text, peer.get_last_packet_channel(), channel])
	elif not arrival_channel.has(text):
		_fail("unexpected packet %s" % text)
	elif channel != arrival_channel[text]:
		_fail("%s on channel %d, want %d" % [text, channel, arrival_channel[text]])
	elif text == "done":
		got_done = true
	else:
		received[text] = true


func _send(mode, channel, text):
	peer.transfer_mode = mode
	peer.transfer_channel = channel
	peer.set_target_peer(remote_id)
	var err = peer.put_packet(text.to_utf8())
	if err != OK:
		_fail("put_packet %s: error %d" % [text, err])


func _fail(why):
	if finished:
		return
	print("FAIL: " + why)
	finished = true
	quit(1)
