module github.com/opscentre/opscentre

go 1.26.8
