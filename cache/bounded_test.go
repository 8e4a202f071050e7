package cache

import (
	"testing"
)

func byteHash(k [32]byte) uint64 { return uint64(k[0]) }

func key(i int) [32]byte {
	var k [32]byte
	k[0], k[1], k[2] = byte(i), byte(i>>8), byte(i>>16)
	return k
}

func TestGetPutDeadline(t *testing.T) {
	c := New[[32]byte, string](100, byteHash)
	c.Put(key(1), "a", 10, 0)
	tests := []struct {
		name string
		now  int64
		ok   bool
	}{
		{"before the deadline", 9, true},
		{"at the deadline", 10, false},
		{"after it", 11, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := c.Get(key(1), tc.now)
			if ok != tc.ok || ok && v != "a" {
				t.Fatalf("Get at %d = %q, %v", tc.now, v, ok)
			}
		})
	}
	if _, ok := c.Get(key(2), 0); ok {
		t.Fatal("absent key found")
	}
	c.Delete(key(1))
	if _, ok := c.Get(key(1), 0); ok {
		t.Fatal("deleted key found")
	}
}

func TestBoundedSize(t *testing.T) {
	const size = 160
	c := New[[32]byte, int](size, byteHash)
	for i := range 100 * size {
		c.Put(key(i), i, 1<<62, 0)
	}
	if n := c.Len(); n > size {
		t.Fatalf("%d entries, bound %d", n, size)
	}
}

func TestEvictsExpiredFirst(t *testing.T) {
	c := New[[32]byte, int](Shards, func([32]byte) uint64 { return 0 }) // one entry per shard, all in shard 0
	c.Put(key(1), 1, 5, 0)
	c.Put(key(2), 2, 100, 10) // key(1) expired at 10: it goes, not key(2)'s predecessor
	if _, ok := c.Get(key(2), 10); !ok {
		t.Fatal("new entry missing")
	}
	if n := c.Len(); n != 1 {
		t.Fatalf("%d entries", n)
	}
}

func TestPutIfGeneration(t *testing.T) {
	c := New[[32]byte, int](100, byteHash)
	gen := c.Generation()
	c.Purge()
	c.PutIfGeneration(key(1), 1, 100, 0, gen)
	if _, ok := c.Get(key(1), 0); ok {
		t.Fatal("a value from before the purge was stored")
	}
	c.PutIfGeneration(key(1), 1, 100, 0, c.Generation())
	if _, ok := c.Get(key(1), 0); !ok {
		t.Fatal("a current value was not stored")
	}
	c.Purge()
	if c.Len() != 0 {
		t.Fatal("purge left entries")
	}
}

func BenchmarkGet(b *testing.B) {
	c := New[[32]byte, int](1000, byteHash)
	k := key(7)
	c.Put(k, 1, 1<<62, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Get(k, 1); !ok {
			b.Fatal("miss")
		}
	}
}

func TestRange(t *testing.T) {
	c := New[[32]byte, int](100, byteHash)
	for i := range 10 {
		c.Put(key(i), i, 100, 0)
	}
	sum, visits := 0, 0
	c.Range(func(_ [32]byte, v int) bool { sum += v; return true })
	c.Range(func([32]byte, int) bool { visits++; return false })
	if sum != 45 || visits != 1 {
		t.Fatalf("sum %d, visits after stop %d", sum, visits)
	}
}
