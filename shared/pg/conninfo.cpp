#include "pg/conninfo.h"

#include <algorithm>
#include <stdexcept>

namespace sw::pg {

namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

std::string percent_encode(const std::string& v) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string keyword_quote(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

bool uri_has_param(const std::string& uri, const std::string& name) {
  const auto q = uri.find('?');
  if (q == std::string::npos) return false;
  std::size_t pos = q + 1;
  while (pos < uri.size()) {
    const auto amp = uri.find('&', pos);
    const auto item = uri.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    if (item.rfind(name + "=", 0) == 0) return true;
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return false;
}

}  // namespace

std::string make_conninfo(const std::string& url_in, const std::string& user, const std::string& password) {
  std::string url = url_in;
  while (!url.empty() && (url.back() == ' ' || url.back() == '\n')) url.pop_back();
  if (starts_with(url, "jdbc:")) {
    url = url.substr(5);
    if (!starts_with(url, "postgresql://"))
      throw std::invalid_argument("POSTGRES_URL: a JDBC URL must start with jdbc:postgresql://");
  }
  if (starts_with(url, "postgresql://") || starts_with(url, "postgres://")) {
    const auto scheme_end = url.find("://") + 3;
    if (url.size() == scheme_end) throw std::invalid_argument("POSTGRES_URL: no host in " + redact(url));
    auto add = [&](const std::string& k, const std::string& v) {
      url += url.find('?') == std::string::npos ? '?' : '&';
      url += k + "=" + percent_encode(v);
    };
    if (!user.empty()) add("user", user);
    if (!password.empty()) add("password", password);
    if (!uri_has_param(url, "connect_timeout")) add("connect_timeout", "10");
    return url;
  }
  if (url.find('=') != std::string::npos) {
    if (!user.empty()) url += " user=" + keyword_quote(user);
    if (!password.empty()) url += " password=" + keyword_quote(password);
    if (url.find("connect_timeout") == std::string::npos) url += " connect_timeout=10";
    return url;
  }
  throw std::invalid_argument(
      "POSTGRES_URL must be jdbc:postgresql://host:port/db, postgresql://..., or key=value pairs; got '" + redact(url) +
      "'");
}

std::string redact(const std::string& s) {
  std::string out = s;
  // URI user information: scheme://user:password@host
  const auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    const auto at = out.find('@', scheme + 3);
    const auto slash = out.find('/', scheme + 3);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const auto colon = out.find(':', scheme + 3);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=... as a URI parameter, or as a keyword (quoted or not, with or without spaces
  // around '=', which libpq allows).
  std::size_t pos = 0;
  while ((pos = out.find("password", pos)) != std::string::npos) {
    const bool word_start = pos == 0 || out[pos - 1] == '?' || out[pos - 1] == '&' || out[pos - 1] == ' ' ||
                            out[pos - 1] == '\t' || out[pos - 1] == '\n';
    std::size_t v = pos + 8;
    while (v < out.size() && (out[v] == ' ' || out[v] == '\t' || out[v] == '\n')) ++v;
    if (!word_start || v >= out.size() || out[v] != '=') {
      pos += 8;
      continue;
    }
    ++v;
    while (v < out.size() && (out[v] == ' ' || out[v] == '\t' || out[v] == '\n')) ++v;
    std::size_t end = v;
    if (v < out.size() && out[v] == '\'') {
      end = v + 1;
      while (end < out.size() && out[end] != '\'') end += out[end] == '\\' ? 2 : 1;
      end = std::min(out.size(), end + 1);
    } else {
      while (end < out.size() && out[end] != '&' && out[end] != ' ' && out[end] != '\t' && out[end] != '\n') ++end;
    }
    out.replace(v, end - v, "***");
    pos = v + 3;
  }
  return out;
}

}  // namespace sw::pg
