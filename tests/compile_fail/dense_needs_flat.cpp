// dense directly on a feature map: layer 3 needs rank 1, gets (16,14,14).
#include <ohq/nn.hpp>
using namespace ohq::nn;
#ifdef OHQ_SHOULD_FAIL_TO_BUILD
using net_t = ohq::network<ohq::shape<1, 28, 28>, conv2d<16, 3, 1, 1>, relu, max_pool<2>, dense<10>>;
#else
using net_t = ohq::network<ohq::shape<1, 28, 28>, conv2d<16, 3, 1, 1>, relu, max_pool<2>, flatten, dense<10>>;
#endif
static_assert(net_t::params() > 0);
int main() {}
