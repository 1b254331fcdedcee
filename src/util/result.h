#pragma once
// What a function that can fail returns: its value, or an Error that says what went wrong in words
// an operator can act on (the file, line and field for a configuration) and, for what the control
// API answers, which HTTP status fits. The one error style of the loaders, the configuration
// changes and the API's request parsers (C++20 has no std::expected).
#include <string>
#include <utility>
#include <variant>

namespace fairway {

struct Error {
  std::string message;
  int status = 400;  // as the control API answers it: 400 invalid, 404 unknown, 409 conflict
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Only when ok().
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // Only when !ok().
  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

}  // namespace fairway
