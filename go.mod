module github.com/netburi/netburi

go 1.26

require (
	github.com/codecat/go-enet v0.0.0-20250227075345-1c03ac96b7b4
	github.com/klauspost/compress v1.20.3
	github.com/pion/dtls/v3 v3.1.15
	github.com/yohamta/donburi v1.15.8
)

require (
	github.com/pion/logging v0.2.4 // indirect
	github.com/pion/transport/v5 v5.0.0 // indirect
	golang.org/x/crypto v0.48.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
)
