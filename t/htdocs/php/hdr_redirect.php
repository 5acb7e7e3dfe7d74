<?php
// A CGI local redirect: "Location: /path" and no Status.  Passing 200 as
// the response code keeps PHP from adding "Status: 302" on its own.
header('Location: /php/hdr_target.php', true, 200);
echo "the redirecting script's own body, which nobody must see\n";
