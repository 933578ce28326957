// 4 groups on 6 channels, inside the residual at layer 1 (path 1.0).
#include <ohq/nn.hpp>
using namespace ohq::nn;
#ifdef OHQ_SHOULD_FAIL_TO_BUILD
using grouped = conv2d<6, 3, 1, 1, 4>;
#else
using grouped = conv2d<6, 3, 1, 1, 3>;
#endif
using net_t = ohq::network<ohq::shape<3, 8, 8>, conv2d<6, 1>, residual<grouped>>;
static_assert(net_t::params() > 0);
int main() {}
