module github.com/mabeam/mabeam

go 1.26
