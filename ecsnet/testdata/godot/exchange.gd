# One Godot 3 NetworkedMultiplayerENet peer that swaps packets with a
# netburi peer in every transfer mode, on the mode's default channel and on
# channel 3 (both ends use channel_count 4), plus compressible payloads of
# 500 to 12000 bytes (two larger than the MTU, so ENet fragments them). Run
# as
#     godot3-server --path DIR -s exchange.gd -- server PORT [COMPRESSION]
#     godot3-server --path DIR -s exchange.gd -- client PORT [COMPRESSION]
#     ... -- server PORT COMPRESSION dtls CERT KEY
#     ... -- client PORT COMPRESSION dtls CERT HOST
# The server binds 127.0.0.1:PORT; the client connects to it. COMPRESSION is
# a compression_mode (0 none, the default, 1 range coder, 2 FastLZ, 3 zlib,
# 4 zstd); the netburi peer must use the same.
#
# With "dtls" (a godot3-server whose ENet speaks DTLS: Godot's bundled
# ENet), use_dtls is on: the server uses the PEM certificate CERT and key
# KEY; the client connects to HOST:PORT with dtls_verify on, trusting only
# CERT. The exchange then ends with a disconnection: the client closes its
# connection (close_connection) after "PASS" and prints "closed"; the server
# disconnects the netburi peer (disconnect_peer, after what is queued) and
# exits once it prints "peer_disconnected N".
#
# Each side sends its reliable packets once and its unreliable ones every
# RESEND_MSEC (so lost ones are sent again; duplicates are fine) until the
# other says "done", and says "done" itself (reliably) once it has them all.
# Every packet must be byte for byte one of CASES' payloads (see payload()),
# from the other side's ID, on the channel its mode and transfer_channel
# imply.
#
# Prints "compression_mode N", "unique_id N", "peer_connected N" and, once
# for each sized case, "verified HEADER (N bytes)" (HEADER: its payload's
# first line). Exits 0 when both sides are done, 1
# after printing "FAIL: why" on anything wrong, 3 when the server port cannot
# be bound.
extends SceneTree

const UNRELIABLE = NetworkedMultiplayerPeer.TRANSFER_MODE_UNRELIABLE
const ORDERED = NetworkedMultiplayerPeer.TRANSFER_MODE_UNRELIABLE_ORDERED
const RELIABLE = NetworkedMultiplayerPeer.TRANSFER_MODE_RELIABLE

const TEXT = 0
const RECORDS = 1

# [transfer_mode, transfer_channel, channel the packet arrives on, size
# (0: just the header), filler]; godotCases in godot_test.go mirrors it.
const CASES = [
	[UNRELIABLE, -1, 2, 0, TEXT],
	[ORDERED, -1, 2, 0, TEXT],
	[RELIABLE, -1, 1, 0, TEXT],
	[UNRELIABLE, 3, 3, 0, TEXT],
	[ORDERED, 3, 3, 0, TEXT],
	[RELIABLE, 3, 3, 0, TEXT],
	[UNRELIABLE, -1, 2, 500, RECORDS],
	[RELIABLE, -1, 1, 700, TEXT],
	[RELIABLE, 3, 3, 5000, RECORDS],
	[RELIABLE, -1, 1, 12000, TEXT],
]
const RESEND_MSEC = 100
const DEADLINE_MSEC = 20000

var peer = NetworkedMultiplayerENet.new()
var payloads = []  # PoolByteArray of each case
var remote_id = 0  # the netburi peer, once connected
var received = {}  # indexes of CASES received so far
var sent_done = false
var got_done = false
var last_send = -RESEND_MSEC
var started = OS.get_ticks_msec()
var finished = false
var use_dtls = false
var closing = false  # dtls server: disconnect_peer called, waiting for the event
var close_at = -1  # dtls client: when to close, after PASS


static func header(c):
	if c[3] == 0:
		return "mode %d channel %d" % [c[0], c[1]]
	return "mode %d channel %d size %d" % [c[0], c[1], c[3]]


# payload is the header, then for sized cases a newline and filler up to the
# size: numbered lines of text, or numbered 64-byte binary records (a
# counter, 14 fixed bytes and 48 zeros).
static func payload(c):
	var b = header(c).to_utf8()
	if c[3] == 0:
		return b
	b.append(10)
	var k = 0
	while b.size() < c[3]:
		if c[4] == TEXT:
			b.append_array(("line %d: the quick brown fox jumps over the lazy dog; the quick brown fox jumps over the lazy dog\n" % k).to_utf8())
		else:
			b.append(k & 255)
			b.append((k >> 8) & 255)
			for i in range(2, 16):
				b.append(i * 3)
			for i in range(16, 64):
				b.append(0)
		k += 1
	b.resize(c[3])
	return b


func _init():
	Engine.target_fps = 200
	var args = Array(OS.get_cmdline_args())
	var role = args[args.find("--") + 1]
	var port = int(args[args.find("--") + 2])
	var compression = 0
	if args.size() > args.find("--") + 3:
		compression = int(args[args.find("--") + 3])
	var at = args.find("--")
	use_dtls = args.size() > at + 6 and args[at + 4] == "dtls"
	for c in CASES:
		payloads.append(payload(c))

	peer.channel_count = 4
	peer.compression_mode = compression
	if peer.compression_mode != compression:
		_fail("compression_mode %d, want %d" % [peer.compression_mode, compression])
		return
	print("compression_mode %d" % peer.compression_mode)
	peer.connect("peer_connected", self, "_on_peer_connected")
	peer.connect("peer_disconnected", self, "_on_peer_disconnected")
	peer.connect("connection_failed", self, "_fail", ["connection failed"])
	peer.connect("server_disconnected", self, "_fail", ["server disconnected"])
	var host = "127.0.0.1"
	if use_dtls:
		var cert = X509Certificate.new()
		if cert.load(args[at + 5]) != OK:
			_fail("cannot load certificate %s" % args[at + 5])
			return
		peer.use_dtls = true
		peer.set_dtls_certificate(cert)
		if role == "server":
			var key = CryptoKey.new()
			if key.load(args[at + 6]) != OK:
				_fail("cannot load key %s" % args[at + 6])
				return
			peer.set_dtls_key(key)
		else:
			peer.dtls_verify = true
			host = args[at + 6]
		print("use_dtls")
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
		var err = peer.create_client(host, port)
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
	if not closing or id != remote_id:
		_fail("peer %d disconnected early" % id)
		return
	print("peer_disconnected %d" % id)
	finished = true
	quit(0)


func _idle(_delta):
	if finished:
		return
	if OS.get_ticks_msec() - started > DEADLINE_MSEC:
		_fail("timed out: received cases %s, got done %s" % [received.keys(), got_done])
		return
	peer.poll()
	while not finished and peer.get_available_packet_count() > 0:
		_receive()
	if finished or remote_id == 0:
		return
	# Checked before sending "done": the poll above has sent a "done" queued
	# in an earlier frame, and quitting drops what is still queued.
	if closing:
		return
	if close_at >= 0:
		# Our "done" may still wait in ENet's queue (its reliable window
		# full of a large packet's fragments), and quitting drops what is
		# queued; with DTLS, close_connection is ENet's disconnect_now, whose
		# notice may overtake the "done" on the way through netburi's relay
		# (UDP keeps no order). Keep polling a little so "done" is
		# delivered first.
		if OS.get_ticks_msec() >= close_at:
			if use_dtls:
				peer.close_connection()
				print("closed")
			finished = true
			quit(0)
		return
	if sent_done and got_done:
		print("PASS")
		if use_dtls and peer.get_unique_id() == 1:
			closing = true
			peer.disconnect_peer(remote_id)
			return
		close_at = OS.get_ticks_msec() + 300
		return
	if not got_done and OS.get_ticks_msec() - last_send >= RESEND_MSEC:
		var first = last_send < 0
		last_send = OS.get_ticks_msec()
		for i in CASES.size():
			if first or CASES[i][0] != RELIABLE:
				_send(CASES[i][0], CASES[i][1], payloads[i])
	if received.size() == CASES.size() and not sent_done:
		_send(RELIABLE, -1, "done".to_utf8())
		sent_done = true


func _receive():
	var from = peer.get_packet_peer()
	var channel = peer.get_packet_channel()
	var data = peer.get_packet()
	var want_channel = 1
	var index = payloads.find(data)
	if index >= 0:
		want_channel = CASES[index][2]
	if from != remote_id:
		_fail("%s from peer %d, want %d" % [_describe(data), from, remote_id])
	elif peer.get_last_packet_channel() != channel:
		_fail("%s: get_last_packet_channel %d, get_packet_channel said %d"
				% [_describe(data), peer.get_last_packet_channel(), channel])
	elif index < 0 and data != "done".to_utf8():
		_fail("unexpected packet %s" % _describe(data))
	elif channel != want_channel:
		_fail("%s on channel %d, want %d" % [_describe(data), channel, want_channel])
	elif index < 0:
		got_done = true
	elif not received.has(index):
		received[index] = true
		if CASES[index][3] > 0:
			print("verified %s (%d bytes)" % [header(CASES[index]), data.size()])


# _describe names a packet for messages: its text if it is one of the
# short ones, else its size, its first bytes and, if its first line is a
# case's header, where it first differs from that case's payload.
func _describe(data):
	var line = data
	var newline = Array(data).find(10)
	if newline >= 0:
		line = data.subarray(0, newline - 1) if newline > 0 else PoolByteArray()
	var text = line.get_string_from_utf8()
	if newline < 0 and data.size() <= 64:
		return '"%s"' % text
	if data.size() == 0:
		return "an empty packet"
	var what = "%d bytes starting %s" % [data.size(), data.subarray(0, min(data.size(), 32) - 1).hex_encode()]
	for i in CASES.size():
		if header(CASES[i]) == text and payloads[i] != data:
			var want = payloads[i]
			var at = 0
			while at < data.size() and at < want.size() and data[at] == want[at]:
				at += 1
			what += " (%s: %d bytes, first difference at byte %d)" % [text, want.size(), at]
	return what


func _send(mode, channel, data):
	peer.transfer_mode = mode
	peer.transfer_channel = channel
	peer.set_target_peer(remote_id)
	var err = peer.put_packet(data)
	if err != OK:
		_fail("put_packet %s: error %d" % [_describe(data), err])


func _fail(why):
	if finished:
		return
	print("FAIL: " + why)
	finished = true
	quit(1)
