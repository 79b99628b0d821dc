package memory_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapter/storage/memory"
	"github.com/gatehouse-auth/gatehouse/adapter/storage/storagetest"
)

func TestContract(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Stores { return memory.New() })
}
