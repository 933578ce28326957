// A residual whose body changes the shape, with no projection shortcut: layer 2, (16,28,28) vs (32,14,14).
#include <ohq/nn.hpp>
using namespace ohq::nn;
#ifdef OHQ_SHOULD_FAIL_TO_BUILD
using body = residual<conv2d<32, 3, 2, 1>, relu, conv2d<32, 3, 1, 1>>;
#else
using body = residual<conv2d<16, 3, 1, 1>, relu, conv2d<16, 3, 1, 1>>;
#endif
using net_t = ohq::network<ohq::shape<1, 28, 28>, conv2d<16, 3, 1, 1>, relu, body, global_avg_pool, dense<10>>;
static_assert(net_t::params() > 0);
int main() {}
