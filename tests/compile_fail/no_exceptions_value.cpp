// Under OHQ_NO_EXCEPTIONS the throwing spellings do not exist: result<T>::value() is a compile error.
#include <ohq/core/error.hpp>
ohq::result<int> make() { return 1; }
int main() {
  auto r = make();
#ifdef OHQ_SHOULD_FAIL_TO_BUILD
  return r.value();
#else
  return r.has_value() ? *r - 1 : 1;
#endif
}
