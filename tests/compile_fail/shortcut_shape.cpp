// A projection shortcut that does not downsample like the body: layer 1, body (32,4,4) vs shortcut (32,8,8).
#include <ohq/nn.hpp>
using namespace ohq::nn;
#ifdef OHQ_SHOULD_FAIL_TO_BUILD
using block = residual<shortcut<conv2d<32, 1, 1>>, conv2d<32, 3, 2, 1>>;
#else
using block = residual<shortcut<conv2d<32, 1, 2>>, conv2d<32, 3, 2, 1>>;
#endif
using net_t = ohq::network<ohq::shape<3, 8, 8>, conv2d<16, 3, 1, 1>, block>;
static_assert(net_t::params() > 0);
int main() {}
