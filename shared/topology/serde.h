#pragma once
// Serializers for keys and values. Serialize appends to a reusable buffer; deserialize fills a
// reusable object and reports a reason when the bytes are not valid.
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

namespace sw {

template <class T>
struct Serde {
  std::function<void(const T&, std::string& out)> serialize;
  std::function<bool(std::string_view in, T& out, std::string& error)> deserialize;
};

// A value that carries nothing (counting needs only the key and the time).
struct Unit {};

namespace serdes {

inline Serde<std::string> string() {
  return {[](const std::string& v, std::string& out) { out.append(v); },
          [](std::string_view in, std::string& out, std::string&) {
            out.assign(in);
            return true;
          }};
}

// Views into the consumed record's buffer: valid while the record is processed.
inline Serde<std::string_view> string_view() {
  return {[](const std::string_view& v, std::string& out) { out.append(v); },
          [](std::string_view in, std::string_view& out, std::string&) {
            out = in;
            return true;
          }};
}

inline Serde<std::int64_t> int64() {
  return {[](const std::int64_t& v, std::string& out) {
            char buf[8];
            std::memcpy(buf, &v, 8);
            out.append(buf, 8);
          },
          [](std::string_view in, std::int64_t& out, std::string& error) {
            if (in.size() != 8) {
              error = "int64 value must be 8 bytes";
              return false;
            }
            std::memcpy(&out, in.data(), 8);
            return true;
          }};
}

inline Serde<Unit> unit() {
  return {[](const Unit&, std::string&) {}, [](std::string_view, Unit&, std::string&) { return true; }};
}

}  // namespace serdes
}  // namespace sw
