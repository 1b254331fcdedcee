#pragma once
// The snapshot's per-packet indexes (address roles, services by VIP:port, reverse NAT, next
// hops): open addressing with linear probing over a power-of-two array of inline slots.
// Filled by the control core while it builds a snapshot (inserting may allocate), then only read
// by the workers. A hit reads one slot, usually one cache line, where std::unordered_map reads a
// bucket array and a node and divides by a prime bucket count (a 64-bit division per lookup:
// tens of cycles on the CPUs we run on, and three lookups per balanced packet).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace fairway {

// Hash: uint64_t operator()(const Key&) whose high bits are well mixed (the index is the top
// bits: multiply-shift hashing). Key: equality-comparable, default-constructible, copyable.
template <typename Key, typename Value, typename Hash>
class FlatMap {
 public:
  // The stored value for `key`, or nullptr. The per-packet operation.
  const Value* find(const Key& key) const {
    if (size_ == 0) return nullptr;  // also covers a map that never allocated
    for (size_t i = index_of(key);; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (!slot.used) return nullptr;
      if (slot.key == key) return &slot.value;
    }
  }
  bool contains(const Key& key) const { return find(key) != nullptr; }
  size_t count(const Key& key) const { return contains(key) ? 1 : 0; }
  const Value& at(const Key& key) const {
    const Value* value = find(key);
    if (value == nullptr) throw std::out_of_range("FlatMap::at: no such key");
    return *value;
  }

  // Control side. The value for `key`, value-initialised when new.
  Value& operator[](const Key& key) { return *insert_slot(key, Value{}); }
  // Inserts when `key` is absent; returns whether it did.
  bool emplace(const Key& key, const Value& value) {
    const size_t before = size_;
    insert_slot(key, value);
    return size_ != before;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  struct Slot {
    Key key{};
    Value value{};
    bool used = false;
  };
  static constexpr size_t kMinSlots = 8;

  size_t index_of(const Key& key) const { return static_cast<size_t>(Hash{}(key) >> shift_); }

  // The slot holding `key`, inserting it with `value` when absent.
  Value* insert_slot(const Key& key, const Value& value) {
    if (slots_.empty()) grow();
    size_t i = index_of(key);
    for (; slots_[i].used; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return &slots_[i].value;
    }
    // At most half full: probe sequences stay short, and a miss stops at an empty slot.
    if ((size_ + 1) * 2 > slots_.size()) {
      grow();
      return insert_slot(key, value);  // once: the grown array has room
    }
    slots_[i] = Slot{key, value, true};
    ++size_;
    return &slots_[i].value;
  }

  void grow() {
    std::vector<Slot> old = std::move(slots_);
    const size_t capacity = old.empty() ? kMinSlots : old.size() * 2;
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(capacity));
    size_ = 0;
    for (const Slot& slot : old) {
      if (slot.used) insert_slot(slot.key, slot.value);
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;      // slots_.size() - 1
  unsigned shift_ = 64;  // 64 - log2(slots_.size())
  size_t size_ = 0;
};

}  // namespace fairway
