module github.com/netburi/netburi

go 1.26

require (
	github.com/codecat/go-enet v0.0.0-20250227075345-1c03ac96b7b4
	github.com/klauspost/compress v1.20.3
)
