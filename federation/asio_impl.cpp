// The one translation unit that compiles Boost.Asio (with SSL) and
// Boost.Beast. Every other file is built with BOOST_ASIO_SEPARATE_COMPILATION
// and BOOST_BEAST_SEPARATE_COMPILATION and links this instead, which keeps
// clean builds fast on small machines.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
