// A 3x3 unpadded convolution on a 2x2 map: layer 2.
#include <ohq/nn.hpp>
using namespace ohq::nn;
#ifdef OHQ_SHOULD_FAIL_TO_BUILD
using last = conv2d<8, 3>;
#else
using last = conv2d<8, 3, 1, 1>;
#endif
using net_t = ohq::network<ohq::shape<3, 8, 8>, conv2d<8, 3, 2, 1>, max_pool<2>, last>;
static_assert(net_t::params() > 0);
int main() {}
